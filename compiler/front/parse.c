/*
 * parse.c: runs the Flex lexer and Bison parser (grammar/) over a source
 * buffer.  The buffer may hold NUL bytes; flex scans it by length.
 */
#include "ast.h"
#include "parser.h"
#include "lexer.h"

Module *parse_module(Arena *a, Diag *d)
{
    Parser p = {0};
    yyscan_t scanner;
    p.arena = a;
    p.diag = d;
    if (yylex_init_extra(&p, &scanner) != 0) {
        fputs("nnc: error: out of memory\n", stderr);
        exit(2);
    }
    YY_BUFFER_STATE buf = yy_scan_bytes(d->src, (int)d->len, scanner);
    int rc = yyparse(scanner, &p);
    yy_delete_buffer(buf, scanner);
    yylex_destroy(scanner);
    if (rc != 0 || d->nerrors > 0 || !p.module || !p.module->name) {
        if (d->nerrors == 0) {
            Span end = {d->len, d->len};
            diag_error(d, end, "the model could not be parsed");
        }
        return NULL;
    }
    return p.module;
}
