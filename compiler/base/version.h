/*
 * version.h: the version nnc reports (nnc --version) and writes into the
 * header comment of every file it generates.  A header of its own, at
 * the bottom of the layers (docs/architecture.md), so that the emitter
 * can print it without reaching up into the driver (compile.h).
 */
#ifndef NNC_VERSION_H
#define NNC_VERSION_H

#define NNC_VERSION "0.1.0"

#endif
