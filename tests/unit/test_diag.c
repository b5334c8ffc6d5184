/*
 * test_diag.c: diagnostics (spec section 8, STYLE "Errors"): edit distance
 * for hints, line/col of byte offsets, the excerpt with its caret (tabs
 * kept so the caret lines up, long lines windowed, control bytes shown as
 * '?'), messages sorted by position, and the cap on the number of errors.
 * Most tests drive diag.c directly on a Diag of their own.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>

#include "cident.h"
#include "emit_c.h"

/* A Diag over src with its own arena. */
typedef struct {
    Arena arena;
    Diag d;
    char *out;  /* the last flush */
} TestDiag;

static void td_init(TestDiag *t, const char *src, size_t len)
{
    memset(t, 0, sizeof *t);
    diag_init(&t->d, &t->arena, "t.nn", src, (uint32_t)len);
}

static const char *td_flush(TestDiag *t)
{
    size_t len = 0;
    free(t->out);
    t->out = NULL;
    FILE *f = open_memstream(&t->out, &len);
    ck_assert_ptr_nonnull(f);
    diag_flush(&t->d, f);
    fclose(f);
    return t->out;
}

static void td_free(TestDiag *t)
{
    arena_free(&t->arena);
    free(t->out);
}

static Span span(uint32_t start, uint32_t end)
{
    Span s = {start, end};
    return s;
}

/* The span of the first occurrence of needle in src. */
static Span span_of(const char *src, const char *needle)
{
    const char *p = strstr(src, needle);
    ck_assert_ptr_nonnull(p);
    return span((uint32_t)(p - src), (uint32_t)(p - src + strlen(needle)));
}

/* ---- edit distance ------------------------------------------------------------- */

START_TEST(test_edit_distance)
{
    static const struct {
        const char *a, *b;
        int limit, want;
    } cases[] = {
        {"dense", "dense", 2, 0},
        {"dens", "dense", 2, 1},     /* insertion */
        {"densee", "dense", 2, 1},   /* deletion */
        {"dance", "dense", 2, 2},    /* two substitutions */
        {"relu", "relu6", 2, 1},
        {"adma", "adam", 3, 2},      /* a transposition is two edits */
        {"kitten", "sitting", 5, 3},
        {"", "abc", 5, 3},
        {"abc", "", 5, 3},
        {"", "", 0, 0},
        {"softmx", "softmax", 2, 1},
        {"cross_entropi", "cross_entropy", 2, 1},
        /* capped at limit + 1 */
        {"abc", "xyz", 1, 2},
        {"a", "abcdefgh", 2, 3},
        {"kitten", "sitting", 2, 3},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int got = diag_edit_distance(cases[i].a, cases[i].b, cases[i].limit);
        ck_assert_msg(got == cases[i].want, "distance(%s, %s, limit %d) = %d, want %d", cases[i].a, cases[i].b,
                      cases[i].limit, got, cases[i].want);
        /* symmetric */
        ck_assert_int_eq(diag_edit_distance(cases[i].b, cases[i].a, cases[i].limit), got);
    }
}
END_TEST

START_TEST(test_op_suggest)
{
    ck_assert_str_eq(op_suggest("dens", KINDS_GRAPH), "dense");
    ck_assert_str_eq(op_suggest("conv2", KINDS_GRAPH), "conv2d");
    ck_assert_str_eq(op_suggest("maxpol", KINDS_GRAPH), "maxpool");
    ck_assert_str_eq(op_suggest("adamw", KINDS(K_OPTIM)), "adamw");
    ck_assert_str_eq(op_suggest("rmsprp", KINDS(K_OPTIM)), "rmsprop");
    ck_assert_ptr_null(op_suggest("dense", KINDS(K_OPTIM)));
    ck_assert_ptr_null(op_suggest("transformer", KINDS_GRAPH));
}
END_TEST

/* ---- line and column ---------------------------------------------------------- */

START_TEST(test_linecol)
{
    static const char src[] = "ab\ncd\n\nef";
    static const struct {
        uint32_t off;
        int line, col;
    } cases[] = {
        {0, 1, 1}, {1, 1, 2}, {2, 1, 3}, /* the newline ends its line */
        {3, 2, 1}, {5, 2, 3}, {6, 3, 1}, {7, 4, 1}, {8, 4, 2}, {9, 4, 3}, /* end of file */
    };
    TestDiag t;
    td_init(&t, src, sizeof src - 1);
    ck_assert_int_eq(t.d.nlines, 4);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int line = 0, col = 0;
        diag_linecol(&t.d, cases[i].off, &line, &col);
        ck_assert_msg(line == cases[i].line && col == cases[i].col, "offset %u: %d:%d, want %d:%d", cases[i].off,
                      line, col, cases[i].line, cases[i].col);
    }
    td_free(&t);
}
END_TEST

/* Many lines: the lookup is right at every line start. */
START_TEST(test_linecol_many_lines)
{
    enum { LINES = 5000 };
    char *src = malloc(LINES * 8 + 1);
    ck_assert_ptr_nonnull(src);
    size_t n = 0;
    for (int i = 0; i < LINES; i++)
        n += (size_t)sprintf(src + n, "%d\n", i % 1000);
    TestDiag t;
    td_init(&t, src, n);
    uint32_t off = 0;
    for (int i = 0; i < LINES; i++) {
        int line, col;
        diag_linecol(&t.d, off + 1, &line, &col);
        ck_assert_int_eq(line, i + 1);
        ck_assert_int_eq(col, 2);
        off = (uint32_t)(strchr(src + off, '\n') - src) + 1;
    }
    td_free(&t);
    free(src);
}
END_TEST

/* ---- the excerpt ------------------------------------------------------------------- */

START_TEST(test_format)
{
    static const char src[] = "model m {\n  y = x -> dens(3)\n}\n";
    TestDiag t;
    td_init(&t, src, sizeof src - 1);
    diag_error(&t.d, span_of(src, "dens"), "unknown layer or function `%s`", "dens");
    diag_hint(&t.d, "did you mean `%s`?", "dense");
    ck_assert_int_eq(t.d.nerrors, 1);
    ck_assert_str_eq(td_flush(&t), "t.nn:2:12: error: unknown layer or function `dens`\n"
                                   "    2 |   y = x -> dens(3)\n"
                                   "      |            ^~~~\n"
                                   "hint: did you mean `dense`?\n");
    /* Flushing forgets the messages. */
    ck_assert_str_eq(td_flush(&t), "");
    td_free(&t);
}
END_TEST

START_TEST(test_note_and_warning)
{
    static const char src[] = "a = 1\nb = 2\na = 3\n";
    TestDiag t;
    td_init(&t, src, sizeof src - 1);
    diag_error(&t.d, span(12, 13), "`a` is already defined");
    diag_note(&t.d, span(0, 1), "first defined here");
    diag_warning(&t.d, span(6, 7), "`b` is computed but never used");
    ck_assert_int_eq(t.d.nerrors, 1);
    ck_assert_int_eq(t.d.nwarnings, 1);
    ck_assert_str_eq(td_flush(&t), "t.nn:2:1: warning: `b` is computed but never used\n"
                                   "    2 | b = 2\n"
                                   "      | ^\n"
                                   "t.nn:3:1: error: `a` is already defined\n"
                                   "    3 | a = 3\n"
                                   "      | ^\n"
                                   "t.nn:1:1: note: first defined here\n"
                                   "    1 | a = 1\n"
                                   "      | ^\n");
    td_free(&t);
}
END_TEST

/* Tabs are copied into the caret line so the caret stays under the token
 * whatever the terminal's tab width. */
START_TEST(test_caret_tabs)
{
    static const char src[] = "model m {\n\tb =\t\tbad(1) \t+ x\n}";
    TestDiag t;
    td_init(&t, src, sizeof src - 1);
    diag_error(&t.d, span_of(src, "bad"), "e");
    ck_assert_str_eq(td_flush(&t), "t.nn:2:7: error: e\n"
                                   "    2 | \tb =\t\tbad(1) \t+ x\n"
                                   "      | \t   \t\t^~~\n");
    /* A tab inside the span is underlined like any byte. */
    diag_error(&t.d, span_of(src, "(1) \t+"), "e");
    ck_assert_str_eq(td_flush(&t), "t.nn:2:10: error: e\n"
                                   "    2 | \tb =\t\tbad(1) \t+ x\n"
                                   "      | \t   \t\t   ^~~~~~\n");
    td_free(&t);
}
END_TEST

/* A span running past its line is underlined to the end of the line. */
START_TEST(test_caret_multiline_span)
{
    static const char src[] = "h = x -> dense(3)\n      -> relu\n";
    TestDiag t;
    td_init(&t, src, sizeof src - 1);
    diag_error(&t.d, span(4, (uint32_t)strlen(src) - 1), "e");
    ck_assert_str_eq(td_flush(&t), "t.nn:1:5: error: e\n"
                                   "    1 | h = x -> dense(3)\n"
                                   "      |     ^~~~~~~~~~~~~\n");
    td_free(&t);
}
END_TEST

/* Control bytes print as '?'; UTF-8 is kept and counts as one column. */
START_TEST(test_caret_control_and_utf8)
{
    static const char src[] = "\xc3\xa9 x\x01y\r z\n";
    TestDiag t;
    td_init(&t, src, sizeof src - 1);
    diag_error(&t.d, span_of(src, "z"), "e");
    ck_assert_str_eq(td_flush(&t), "t.nn:1:9: error: e\n"
                                   "    1 | \xc3\xa9 x?y? z\n"
                                   "      |        ^\n");
    td_free(&t);
}
END_TEST

/* A long line is shown as a window around the span. */
START_TEST(test_long_line_window)
{
    enum { LEN = 5000, AT = 3000 };
    char *src = malloc(LEN + 2);
    ck_assert_ptr_nonnull(src);
    for (int i = 0; i < LEN; i++)
        src[i] = (char)('a' + i % 26);
    memcpy(src + AT, "TOKEN", 5);
    src[LEN] = '\n';
    src[LEN + 1] = '\0';
    TestDiag t;
    td_init(&t, src, LEN + 1);
    diag_error(&t.d, span(AT, AT + 5), "e");
    const char *out = td_flush(&t);
    ck_assert_has(out, "t.nn:1:3001: error: e\n");
    /* Three lines: header, text, caret; none of them long. */
    ck_assert_int_eq(count_str(out, "\n"), 3);
    const char *text = strchr(out, '\n') + 1, *mark = strchr(text, '\n') + 1;
    size_t text_len = (size_t)(mark - text - 1), mark_len = strlen(mark) - 1;
    ck_assert_uint_le(text_len, 120);
    ck_assert(strncmp(text + text_len - 3, "...\n", 4) == 0);
    ck_assert(strncmp(text, "    1 | ...", 11) == 0);
    /* The caret is right under the token. */
    const char *tok = strstr(text, "TOKEN");
    ck_assert_ptr_nonnull(tok);
    ck_assert_uint_eq((size_t)(tok - text), (size_t)(strchr(mark, '^') - mark));
    ck_assert_uint_eq(mark_len, (size_t)(tok - text) + 5);
    td_free(&t);
    free(src);
}
END_TEST

/* A span near the start of a long line: no leading "...". */
START_TEST(test_long_line_start)
{
    enum { LEN = 1000 };
    char *src = malloc(LEN + 1);
    ck_assert_ptr_nonnull(src);
    memset(src, 'x', LEN);
    src[LEN] = '\0';
    TestDiag t;
    td_init(&t, src, LEN);
    diag_error(&t.d, span(10, 12), "e");
    const char *out = td_flush(&t);
    ck_assert(strncmp(strchr(out, '\n') + 1, "    1 | xxxxxxxxxxxx", 20) == 0);
    ck_assert_has(out, "...\n      |           ^~\n");
    td_free(&t);
    free(src);
}
END_TEST

/* The line:col named in the header is the line the excerpt shows, also for
 * an error at the very end of a file that ends with a newline. */
START_TEST(test_eof_position_consistent)
{
    static const char *const srcs[] = {"abc\n", "abc", "model m {\n}\n\n"};
    for (int i = 0; i < 3; i++) {
        TestDiag t;
        uint32_t len = (uint32_t)strlen(srcs[i]);
        td_init(&t, srcs[i], len);
        diag_error(&t.d, span(len, len), "end");
        const char *out = td_flush(&t);
        int hline = 0, hcol = 0, xline = -1;
        ck_assert_int_eq(sscanf(out, "t.nn:%d:%d: error: end\n", &hline, &hcol), 2);
        ck_assert_int_eq(sscanf(strchr(out, '\n') + 1, "%d |", &xline), 1);
        ck_assert_msg(hline == xline, "header says line %d, the excerpt shows line %d:\n%s", hline, xline, out);
        td_free(&t);
    }
}
END_TEST

/* CRLF line endings: the excerpt is the line without its carriage return. */
START_TEST(test_crlf_lines)
{
    TestCompile t;
    tc_compile(&t, "model m {\r\n  input x : f32[4]\r\n  output y = x -> dens(3)\r\n}\r\n");
    ck_assert_int_eq(t.rc, 1);
    ck_assert_has(t.diags, "t.nn:3:19: error: unknown layer or function `dens`\n"
                           "    3 |   output y = x -> dens(3)\n"
                           "      |                   ^~~~\n");
    tc_free(&t);
}
END_TEST

/* ---- ordering and the cap ---------------------------------------------------------- */

START_TEST(test_sorted_by_position)
{
    static const char src[] = "aaaa bbbb cccc dddd\n";
    TestDiag t;
    td_init(&t, src, sizeof src - 1);
    diag_error(&t.d, span(15, 19), "fourth");
    diag_hint(&t.d, "hint of fourth");
    diag_error(&t.d, span(0, 4), "first");
    diag_warning(&t.d, span(10, 14), "third");
    diag_error(&t.d, span(0, 2), "second, same offset, reported later");
    diag_note(&t.d, span(15, 19), "note of second");
    const char *out = td_flush(&t);
    const char *first = strstr(out, "error: first"), *second = strstr(out, "error: second");
    const char *third = strstr(out, "warning: third"), *fourth = strstr(out, "error: fourth");
    ck_assert(first && second && third && fourth);
    ck_assert_msg(first < second && second < third && third < fourth, "out of order:\n%s", out);
    /* Hints and notes stay with their message. */
    const char *note = strstr(out, "note: note of second"), *hint = strstr(out, "hint: hint of fourth");
    ck_assert(note && second < note && note < third);
    ck_assert(hint && fourth < hint);
    td_free(&t);
}
END_TEST

START_TEST(test_max_errors)
{
    static const char src[] = "a b c d e f\n";
    TestDiag t;
    td_init(&t, src, sizeof src - 1);
    ck_assert_int_eq(t.d.max_errors, 50);
    t.d.max_errors = 3;
    for (uint32_t i = 0; i < 6; i++) {
        ck_assert_int_eq(diag_full(&t.d), i >= 3);
        diag_error(&t.d, span(2 * i, 2 * i + 1), "error %u", i);
        diag_hint(&t.d, "hint %u", i);
    }
    ck_assert_int_eq(t.d.nerrors, 3);
    ck_assert(diag_full(&t.d));
    const char *out = td_flush(&t);
    ck_assert_int_eq(count_str(out, ": error: "), 3);
    ck_assert_has(out, "hint 2\n");
    ck_assert_lacks(out, "error 3");
    ck_assert_lacks(out, "hint 3");
    ck_assert_str_eq(out + strlen(out) - strlen("t.nn: too many errors; stopped after 3\n"),
                     "t.nn: too many errors; stopped after 3\n");
    td_free(&t);
}
END_TEST

/* Through the compiler: a file with very many mistakes stops at 50. */
START_TEST(test_max_errors_compile)
{
    char *src = malloc(100 * 40 + 100);
    ck_assert_ptr_nonnull(src);
    int n = sprintf(src, "model m {\n  input x : f32[4]\n");
    for (int i = 0; i < 100; i++)
        n += sprintf(src + n, "  v%d = nothing%d -> relu\n", i, i);
    sprintf(src + n, "  output o = x\n}\n");
    TestCompile t;
    ck_assert_int_eq(tc_compile(&t, src), 1);
    ck_assert_int_eq(t.c.diag.nerrors, 50);
    ck_assert_int_eq(count_str(t.diags, ": error: "), 50);
    ck_assert_has(t.diags, "t.nn:3:8: error: unknown name `nothing0`");
    ck_assert_has(t.diags, "t.nn:52:9: error: unknown name `nothing49`");
    ck_assert_lacks(t.diags, "nothing50");
    ck_assert_has(t.diags, "t.nn: too many errors; stopped after 50\n");
    tc_free(&t);
    free(src);
}
END_TEST

/* Errors of different phases come out in source order (spec 8: several
 * independent errors are all reported). */
START_TEST(test_phases_sorted)
{
    TestCompile t;
    tc_compile(&t, "model m {\n"
                   "  input x : f32[4]\n"
                   "  input img : f32[1, 4, 4]\n"
                   "  a = x -> c: conv2d(2, 3)\n"     /* shape error, line 4 */
                   "  b = x -> rellu\n"               /* sema error, line 5 */
                   "  c = img -> fc: dense(3)\n"     /* shape error, line 6 */
                   "  d = x -> dropout(p = 7)\n"      /* sema error, line 7 */
                   "  output o = a\n"
                   "}\n");
    ck_assert_int_eq(t.rc, 1);
    ck_assert_int_eq(t.c.diag.nerrors, 4);
    const char *e4 = strstr(t.diags, "t.nn:4:"), *e5 = strstr(t.diags, "t.nn:5:");
    const char *e6 = strstr(t.diags, "t.nn:6:"), *e7 = strstr(t.diags, "t.nn:7:");
    ck_assert(e4 && e5 && e6 && e7);
    ck_assert_msg(e4 < e5 && e5 < e6 && e6 < e7, "not in source order:\n%s", t.diags);
    tc_free(&t);
}
END_TEST

/* Internal errors (compiler bugs) exit with status 70, naming the pass. */
START_TEST(test_internal_error_exits_70)
{
    diag_internal("testpass", "deliberate %d", 1);
}
END_TEST

/* -Werror shows a warning as an error, but counts it as a warning: the
 * phases run the same and the caller decides the exit status. */
START_TEST(test_werror)
{
    static const char src[] = "a = 1\nb = 2\n";
    TestDiag t;
    td_init(&t, src, sizeof src - 1);
    t.d.werror = 1;
    diag_warning(&t.d, span(6, 7), "`b` is computed but never used");
    diag_hint(&t.d, "use it");
    ck_assert_int_eq(t.d.nerrors, 0);
    ck_assert_int_eq(t.d.nwarnings, 1);
    ck_assert_str_eq(td_flush(&t), "t.nn:2:1: error: `b` is computed but never used [-Werror]\n"
                                   "    2 | b = 2\n"
                                   "      | ^\n"
                                   "hint: use it\n");
    td_free(&t);
}
END_TEST

/* The model's C identifier: itself, or nnc_ and itself where it would
 * collide with C, C++, the C library or the generated code. */
START_TEST(test_cident_model)
{
    Arena a = {0};
    const char *why;
    static const char *const plain[] = {"fashion_mlp", "lenet", "mlp", "net", "resmlp", "model2", "kx", "kx_1",
                                        "nnc_exp", "Exp", "weights"};
    for (size_t i = 0; i < sizeof plain / sizeof *plain; i++) {
        ck_assert_str_eq(cident_model(&a, plain[i], &why), plain[i]);
        ck_assert_ptr_null(why);
    }
    static const char *const prefixed[] = {"m", "at", "real", "seed", "exp", "free", "size_t", "int", "static",
                                           "_Bool", "__x", "_x", "class", "xor", "NAN", "linux", "math", "stdio",
                                           "xmmintrin", "w", "w_fc", "in_x", "k001", "k012_dense", "MAX_BATCH",
                                           "EXP", "params", "run_loss", "nnrt_main", "NnrtModel", "omp_get",
                                           "GEMM_NR", "y0", "uint32_t", "int8_t", "FILE", "stdin"};
    for (size_t i = 0; i < sizeof prefixed / sizeof *prefixed; i++) {
        const char *c = cident_model(&a, prefixed[i], &why);
        ck_assert_msg(strncmp(c, "nnc_", 4) == 0 && strcmp(c + 4, prefixed[i]) == 0, "%s -> %s", prefixed[i], c);
        ck_assert_ptr_nonnull(why);
    }
    cident_model(&a, "int", &why);
    ck_assert_str_eq(why, "a keyword of C or C++");
    cident_model(&a, "free", &why);
    ck_assert_str_eq(why, "a name of the C library or of its headers");
    cident_model(&a, "seed", &why);
    ck_assert_str_eq(why, "a name the generated code uses itself");
    ck_assert_str_eq(cident_model(&a, "exp", NULL), "nnc_exp");
    /* the schedules' buffer names (emit_c.c) are checked the same way */
    static const char *const free_names[] = {"logits", "logits_0_weight", "grad_h", "k_out", "h_1_relu"};
    for (size_t i = 0; i < sizeof free_names / sizeof *free_names; i++)
        ck_assert_ptr_null(cident_taken(free_names[i]));
    static const char *const taken_names[] = {"n", "A", "m", "target", "lr", "in_x", "k012_scratch", "exp", "int",
                                              "_x", "real", "NAN", "w_fc_weight"};
    for (size_t i = 0; i < sizeof taken_names / sizeof *taken_names; i++)
        ck_assert_msg(cident_taken(taken_names[i]) != NULL, "%s", taken_names[i]);
    arena_free(&a);
}
END_TEST

/* Strings from the command line written into C: the .source literal and
 * the comments of the header and of each kernel. */
START_TEST(test_emit_escapes)
{
    Arena a = {0};
    ck_assert_str_eq(emit_c_string(&a, "examples/m.nn"), "examples/m.nn");
    ck_assert_str_eq(emit_c_string(&a, "a\"b\\c"), "a\\\"b\\\\c");
    ck_assert_str_eq(emit_c_string(&a, "x\ny\tz"), "x\\012y\\011z");
    /* octal escapes take three digits: "\0011" would be \001 then '1' */
    ck_assert_str_eq(emit_c_string(&a, "\0011"), "\\0011");
    ck_assert_str_eq(emit_c_string(&a, "caf\xc3\xa9"), "caf\\303\\251");
    ck_assert_str_eq(emit_c_string(&a, "?\?/?\?="), "?\\?/?\\?="); /* trigraphs: question marks in pairs */
    ck_assert_str_eq(emit_c_string(&a, "*/"), "*/");
    ck_assert_str_eq(emit_c_comment(&a, "nnc m.nn -o 'a*/b' /*c"), "nnc m.nn -o 'a* /b' / *c");
    ck_assert_str_eq(emit_c_comment(&a, "a**/"), "a** /");
    ck_assert_str_eq(emit_c_comment(&a, "x\ny?\?/"), "x\\012y? ?/");
    ck_assert_str_eq(emit_c_comment(&a, "caf\xc3\xa9 \"q\" \\"), "caf\\303\\251 \"q\" \\");
    arena_free(&a);
}
END_TEST

Suite *diag_suite(void)
{
    Suite *s = suite_create("diag");
    TCase *tc = tcase_create("diag");
    tcase_add_test(tc, test_edit_distance);
    tcase_add_test(tc, test_op_suggest);
    tcase_add_test(tc, test_linecol);
    tcase_add_test(tc, test_linecol_many_lines);
    tcase_add_test(tc, test_format);
    tcase_add_test(tc, test_note_and_warning);
    tcase_add_test(tc, test_werror);
    tcase_add_test(tc, test_cident_model);
    tcase_add_test(tc, test_emit_escapes);
    tcase_add_test(tc, test_caret_tabs);
    tcase_add_test(tc, test_caret_multiline_span);
    tcase_add_test(tc, test_caret_control_and_utf8);
    tcase_add_test(tc, test_long_line_window);
    tcase_add_test(tc, test_long_line_start);
    tcase_add_test(tc, test_eof_position_consistent);
    tcase_add_test(tc, test_crlf_lines);
    tcase_add_test(tc, test_sorted_by_position);
    tcase_add_test(tc, test_max_errors);
    tcase_add_test(tc, test_max_errors_compile);
    tcase_add_test(tc, test_phases_sorted);
    /* An exit test would end the whole run without fork(). */
    const char *fork = getenv("CK_FORK");
    if (!fork || strcmp(fork, "no") != 0)
        tcase_add_exit_test(tc, test_internal_error_exits_70, 70);
    suite_add_tcase(s, tc);
    return s;
}
