#!/bin/sh
# Makes the data of the two textbook examples, digits01.nn and
# digits123_cnn.nn, from the hand-drawn bitmaps below plus pixel noise:
#   sh examples/data/make_digits.sh [DIR]      (DIR: default examples/data)
# writes into DIR
#   digits01_{train,test}_{x,y}.csv    4x3 images of 0 and 1: 64 training
#                                      images, 8 test images
#   digits123_{train,test}_{x,y}.csv   6x6 images of 1, 2 and 3: 96
#                                      training images, 12 test images
# An x row is one image, its pixels row by row (0 white, 1 black); a y row is
# the one-hot target (digits01: "1,0" is 0, "0,1" is 1; digits123: "1,0,0"
# is 1, "0,1,0" is 2, "0,0,1" is 3).
#
# Each image is one of its digit's hand-drawn variants (the digit cycles,
# the variant is drawn at random) with some distinct pixels flipped: in the
# training sets 0 or 1 pixel (digits01) and 0 to 2 pixels (digits123); the
# test sets add noise round by round, more than the networks were trained
# on, until some images are hard to read even for a person: digits01's 8
# test images have 1, 1, 2, 2, 3, 3, 4, 4 flipped pixels (of 12),
# digits123's 12 have 2, 2, 2, 4, 4, 4, 6, 6, 6, 8, 8, 8 (of 36). The random numbers come from the Park-Miller generator
# (x = 16807 x mod 2^31-1, exact in awk's doubles) with fixed seeds, not
# from awk's rand(), whose sequence differs between awks, and only
# integers are printed, so any POSIX awk gives the same bytes (checked with
# mawk; tests/run_examples.sh checks that regenerating them changes nothing).
set -u
dir=${1:-$(dirname "$0")}
[ -d "$dir" ] || { echo "make_digits.sh: $dir is not a directory" >&2; exit 1; }

awk -v dir="$dir" '
# The next number of the generator, in 0 .. n-1.
function rnd(n) { seed = (seed * 16807) % 2147483647; return seed % n }

# Makes COUNT images of NCLASS digits from the bitmaps bm[class, variant]
# (NVAR[class] variants each, W*H characters, "#" black), flipping
# MINFLIP..MAXFLIP distinct pixels of each, plus STEP more for each round
# of the NCLASS digits, into PREFIX_x.csv, PREFIX_y.csv.
function make(prefix, count, nclass, npix, minflip, maxflip, step,
              i, c, v, k, p, flips, img, flipped, line, xf, yf) {
    xf = dir "/" prefix "_x.csv"
    yf = dir "/" prefix "_y.csv"
    # A bitmap of the wrong size is a typo in this script, not noise.
    for (c = 0; c < nclass; c++)
        for (v = 0; v < nvar[c]; v++)
            if (length(bm[c, v]) != npix) {
                printf "make_digits.sh: %s: bitmap %d of class %d has %d pixels, not %d\n",
                    prefix, v, c, length(bm[c, v]), npix > "/dev/stderr"
                exit 1
            }
    printf "" > xf
    printf "" > yf
    for (i = 0; i < count; i++) {
        c = i % nclass
        v = rnd(nvar[c])
        flips = minflip + rnd(maxflip - minflip + 1) + step * int(i / nclass)
        for (p = 0; p < npix; p++) {
            img[p] = (substr(bm[c, v], p + 1, 1) == "#") ? 1 : 0
            flipped[p] = 0
        }
        for (k = 0; k < flips; k++) {
            do p = rnd(npix); while (flipped[p])
            flipped[p] = 1
            img[p] = 1 - img[p]
        }
        line = img[0]
        for (p = 1; p < npix; p++) line = line "," img[p]
        print line > xf
        line = (c == 0) ? "1" : "0"
        for (k = 1; k < nclass; k++) line = line "," ((c == k) ? "1" : "0")
        print line > yf
    }
    close(xf)
    close(yf)
}

# Reads the bitmaps of the class C from the rows of ART (one string per
# image row, variants side by side separated by a space).
function draw(c, rows, nrows,   r, n, v, part) {
    for (r = 1; r <= nrows; r++) {
        n = split(rows[r], part, " ")
        for (v = 0; v < n; v++) bm[c, v] = bm[c, v] part[v + 1]
    }
    nvar[c] = n
}

BEGIN {
    # 0 and 1 in 4 rows of 3 pixels.
    r[1] = "### ### .#. ##. ###"
    r[2] = "#.# #.# #.# #.# #.#"
    r[3] = "#.# #.# #.# #.# #.#"
    r[4] = "### .## .#. ### .##"
    draw(0, r, 4)
    r[1] = ".#. ##. .#. #.. ..#"
    r[2] = ".#. .#. ##. #.. ..#"
    r[3] = ".#. .#. .#. #.. ..#"
    r[4] = ".#. ### .#. #.. ..#"
    draw(1, r, 4)
    seed = 1201
    make("digits01_train", 64, 2, 12, 0, 1, 0)
    seed = 1202
    make("digits01_test", 8, 2, 12, 1, 1, 1)
    split("", bm); split("", nvar)

    # 1, 2 and 3 in 6 rows of 6 pixels.
    r[1] = "..##.. ...#.. ..#... .###.."
    r[2] = ".###.. ..##.. .##... ..##.."
    r[3] = "..##.. ...#.. ..#... ..##.."
    r[4] = "..##.. ...#.. ..#... ..##.."
    r[5] = "..##.. ...#.. ..#... ..##.."
    r[6] = ".####. ..###. .###.. ######"
    draw(0, r, 6)
    r[1] = ".####. .###.. .####. #####."
    r[2] = "##..## #...#. #....# .....#"
    r[3] = "....## ....#. ....#. ....#."
    r[4] = "..###. ...#.. ...#.. ..##.."
    r[5] = ".##... ..#... ..#... .#...."
    r[6] = "###### .####. ###### ######"
    draw(1, r, 6)
    r[1] = ".####. #####. .###.. #####."
    r[2] = "#...## ....## #...#. .....#"
    r[3] = "...##. ..###. ..##.. ..###."
    r[4] = "....## ....## ....#. .....#"
    r[5] = "#...## ....## #...#. .....#"
    r[6] = ".####. #####. .###.. #####."
    draw(2, r, 6)
    seed = 1231
    make("digits123_train", 96, 3, 36, 0, 2, 0)
    seed = 1232
    make("digits123_test", 12, 3, 36, 2, 2, 2)
}'
