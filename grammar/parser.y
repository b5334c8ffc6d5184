/*
 * parser.y: the grammar of the .nn language (spec sections 2-4).
 *
 * Precedence, loosest first:   ->   +   *   (unary minus on numbers only)
 * so `a + b -> relu` is relu(a + b), and a pipeline is closed by `)`.
 * Statements need no separator: no statement can continue an expression.
 * Every action is one call into ast.c; meaning is checked in sema.c.
 * After a syntax error the parser skips to the next statement and goes on,
 * so one run reports the independent syntax errors of a file.
 */
%define api.pure full
%define api.location.type {Span}
%define parse.error custom
%define parse.lac full
%locations
%expect 0
%param {yyscan_t scanner}
%parse-param {Parser *p}

%code requires {
#include "ast.h"
#ifndef YY_TYPEDEF_YY_SCANNER_T
#define YY_TYPEDEF_YY_SCANNER_T
typedef void *yyscan_t;
#endif

#define YYLLOC_DEFAULT(Cur, Rhs, N)                                     \
    do {                                                                \
        if (N) {                                                        \
            (Cur).start = YYRHSLOC(Rhs, 1).start;                       \
            (Cur).end = YYRHSLOC(Rhs, N).end;                           \
        } else {                                                        \
            (Cur).start = (Cur).end = YYRHSLOC(Rhs, 0).end;             \
        }                                                               \
    } while (0)
}

%code provides {
int yylex(YYSTYPE *yylval, YYLTYPE *yylloc, yyscan_t scanner);
}

%code {
#include <string.h>

static void yyerror(YYLTYPE *loc, yyscan_t scanner, Parser *p, const char *msg);
static Span nospan(void) { Span s = {0, 0}; return s; }
}

%union {
    Ast *ast;
    Stmt *stmt;
    AstList list;
}

%token MODEL "model" INPUT "input" TARGET "target" OUTPUT "output"
%token LOSS "loss" OPTIMIZER "optimizer" TRAIN "train"
%token TRUE "true" FALSE "false"
%token IDENT "identifier" NUMBER "number" ARROW "->"

%type <ast> expr pipe sum product unary primary call stage list arg kwarg
%type <list> args args_opt items items_opt kwargs kwargs_opt
%type <stmt> stmt

%%

file
    : "model" IDENT '{' stmts '}'       { ast_module(p, @$, @2); }
    ;

stmts
    : %empty
    | stmts stmt                        { ast_add_stmt(p, $2); }
    | stmts ';'
    | stmts error
    ;

stmt
    : "input" IDENT ':' IDENT list      { $$ = ast_decl(p, ST_INPUT, @$, @2, @4, $5); }
    | "target" IDENT ':' IDENT list     { $$ = ast_decl(p, ST_TARGET, @$, @2, @4, $5); }
    | IDENT '=' expr                    { $$ = ast_let(p, ST_LET, @$, @1, $3); }
    | "output" IDENT '=' expr           { $$ = ast_let(p, ST_OUTPUT, @$, @2, $4); }
    | "output" expr                     { $$ = ast_let(p, ST_OUTPUT, @$, nospan(), $2); }
    | "loss" expr                       { $$ = ast_let(p, ST_LOSS, @$, nospan(), $2); }
    | "optimizer" expr                  { $$ = ast_let(p, ST_OPTIMIZER, @$, nospan(), $2); }
    | "train" '{' kwargs_opt '}'        { $$ = ast_train(p, @$, @1, $3); }
    ;

expr
    : sum
    | pipe
    ;

pipe
    : sum "->" stage                    { $$ = ast_pipe(p, $1, $3); }
    | pipe "->" stage                   { $$ = ast_pipe(p, $1, $3); }
    ;

sum
    : product
    | sum '+' product                   { $$ = ast_binop(p, AST_ADD, $1, $3); }
    ;

product
    : unary
    | product '*' unary                 { $$ = ast_binop(p, AST_MUL, $1, $3); }
    ;

unary
    : primary
    | '-' NUMBER                        { $$ = ast_num(p, @$, 1); }
    ;

primary
    : NUMBER                            { $$ = ast_num(p, @$, 0); }
    | "true"                            { $$ = ast_bool(p, @$, 1); }
    | "false"                           { $$ = ast_bool(p, @$, 0); }
    | IDENT                             { $$ = ast_name(p, @$); }
    | call
    | list
    | '(' expr ')'                      { $$ = ast_paren(p, @$, $2); }
    ;

call
    : IDENT '(' args_opt ')'            { $$ = ast_call(p, @$, nospan(), @1, $3, 1); }
    | IDENT ':' IDENT '(' args_opt ')'  { $$ = ast_call(p, @$, @1, @3, $5, 1); }
    ;

stage
    : call
    | IDENT                             { $$ = ast_call(p, @$, nospan(), @1, ast_list_empty(), 0); }
    | IDENT ':' IDENT                   { $$ = ast_call(p, @$, @1, @3, ast_list_empty(), 0); }
    ;

args_opt
    : %empty                            { $$ = ast_list_empty(); }
    | args
    | args ','
    ;

args
    : arg                               { $$ = ast_list_push(p, ast_list_empty(), $1); }
    | args ',' arg                      { $$ = ast_list_push(p, $1, $3); }
    ;

arg
    : expr
    | kwarg
    ;

kwarg
    : IDENT '=' expr                    { $$ = ast_kwarg(p, @$, @1, $3); }
    ;

list
    : '[' items_opt ']'                 { $$ = ast_list(p, @$, $2); }
    ;

items_opt
    : %empty                            { $$ = ast_list_empty(); }
    | items
    | items ','
    ;

items
    : expr                              { $$ = ast_list_push(p, ast_list_empty(), $1); }
    | items ',' expr                    { $$ = ast_list_push(p, $1, $3); }
    ;

kwargs_opt
    : %empty                            { $$ = ast_list_empty(); }
    | kwargs
    | kwargs ','
    ;

kwargs
    : kwarg                             { $$ = ast_list_push(p, ast_list_empty(), $1); }
    | kwargs ',' kwarg                  { $$ = ast_list_push(p, $1, $3); }
    | kwargs kwarg                      { $$ = ast_list_push(p, $1, $2); }
    ;

%%

/* Bison names tokens '{' and "->"; messages use `{` and `->`. */
static const char *token_text(yysymbol_kind_t k, char *buf, size_t n)
{
    const char *s = yysymbol_name(k);
    size_t len = strlen(s);
    if (len >= 2 && (s[0] == '\'' || s[0] == '"') && s[len - 1] == s[0])
        snprintf(buf, n, "`%.*s`", (int)(len - 2), s + 1);
    else if (k == YYSYMBOL_IDENT || k == YYSYMBOL_NUMBER || k == YYSYMBOL_YYEOF ||
             k == YYSYMBOL_YYerror || k == YYSYMBOL_YYUNDEF)
        snprintf(buf, n, "%s", s);
    else
        snprintf(buf, n, "`%s`", s);
    return buf;
}

static int expects(const yysymbol_kind_t *exp, int n, yysymbol_kind_t k)
{
    for (int i = 0; i < n; i++)
        if (exp[i] == k)
            return 1;
    return 0;
}

static int yyreport_syntax_error(const yypcontext_t *ctx, yyscan_t scanner, Parser *p)
{
    (void)scanner;
    enum { LIST = 6 };
    yysymbol_kind_t exp[YYNTOKENS];
    int n = yypcontext_expected_tokens(ctx, exp, YYNTOKENS);
    yysymbol_kind_t tok = yypcontext_token(ctx);
    Span sp = *yypcontext_location(ctx);
    const char *name = yysymbol_name(tok);
    char found[96], buf[64], want[512] = "";
    int line, prev_line, col;

    if (tok == YYSYMBOL_YYEOF)
        snprintf(found, sizeof found, "end of file");
    else if (tok == YYSYMBOL_IDENT || tok == YYSYMBOL_NUMBER)
        snprintf(found, sizeof found, "%s `%.*s%s`", name,
                 (int)(sp.end - sp.start > 40 ? 40 : sp.end - sp.start),
                 p->diag->src + sp.start, sp.end - sp.start > 40 ? "..." : "");
    else
        token_text(tok, found, sizeof found);

    /* A token on a later line than the last good one: the mistake is where
     * that line ended (a missing `)`, an unfinished pipeline). */
    diag_linecol(p->diag, sp.start, &line, &col);
    diag_linecol(p->diag, p->prev.end, &prev_line, &col);
    int starts_stmt = tok == YYSYMBOL_IDENT || (tok >= YYSYMBOL_INPUT && tok <= YYSYMBOL_TRAIN) ||
                      strcmp(name, "'}'") == 0;
    int dangling = p->prev_tok == ARROW || p->prev_tok == '=' || p->prev_tok == ',' || p->prev_tok == ':' ||
                   p->prev_tok == '(' || p->prev_tok == '[' || p->prev_tok == '+' || p->prev_tok == '*' ||
                   p->prev_tok == '-';
    int moved = 0;
    if (p->prev_tok != 0 && line > prev_line && sp.start == p->last.start &&
        (p->nopen > 1 || dangling || (starts_stmt && !expects(exp, n, YYSYMBOL_INPUT)))) {
        moved = 1;
        size_t k = strlen(found);
        if (tok != YYSYMBOL_YYEOF)
            snprintf(found + k, sizeof found - k, " on line %d", line);
        sp.start = sp.end = p->prev.end;
    }

    /* After an error the parser resumes at the next statement-like token;
     * a second complaint on the same line is almost always an echo of
     * the first. */
    int shown_line;
    diag_linecol(p->diag, sp.start, &shown_line, &col);
    if (p->err_line == shown_line)
        return 0;
    p->err_line = shown_line;

    /* Long lists of expected tokens are said by what they have in common. */
    if (n > LIST && expects(exp, n, YYSYMBOL_NUMBER) && expects(exp, n, YYSYMBOL_IDENT)) {
        snprintf(want, sizeof want, "an expression");
    } else if (n > LIST && expects(exp, n, YYSYMBOL_INPUT) && expects(exp, n, YYSYMBOL_LOSS)) {
        snprintf(want, sizeof want, "%s%sanother statement or `}`", expects(exp, n, YYSYMBOL_ARROW) ? "`->`, " : "",
                 expects(exp, n, (yysymbol_kind_t)YYTRANSLATE('(')) ? "`(`, " : "");
    } else if (n > 0) {
        for (int i = 0; i < n && i < LIST; i++) {
            if (i > 0)
                strcat(want, i == n - 1 ? " or " : ", ");
            strcat(want, token_text(exp[i], buf, sizeof buf));
        }
        if (n > LIST)
            strcat(want, ", ...");
    }
    if (want[0])
        diag_error(p->diag, sp, "expected %s, found %s", want, found);
    else
        diag_error(p->diag, sp, "unexpected %s", found);

    /* The innermost open bracket, if closing it is one way on. */
    int noted = 0;
    if ((moved || tok == YYSYMBOL_YYEOF) && p->nopen > 0 && p->nopen <= 64) {
        char k = p->open_kind[p->nopen - 1];
        int closer = YYTRANSLATE(k == '(' ? ')' : k == '[' ? ']' : '}');
        if (expects(exp, n, (yysymbol_kind_t)closer)) {
            diag_note(p->diag, p->open[p->nopen - 1], "the `%c` opened here is not closed", k);
            noted = 1;
        }
    }
    if ((n == 1 && exp[0] == YYSYMBOL_MODEL) || (tok == YYSYMBOL_MODEL && expects(exp, n, YYSYMBOL_YYEOF)))
        diag_hint(p->diag, "a .nn file holds one `model NAME { ... }`");
    else if ((strcmp(name, "'+'") == 0 || strcmp(name, "'*'") == 0) && expects(exp, n, YYSYMBOL_ARROW))
        diag_hint(p->diag, "a pipeline runs to the end of its expression; write `(a -> f) %c b`", name[1]);
    else if (!moved && tok >= YYSYMBOL_MODEL && tok <= YYSYMBOL_FALSE && expects(exp, n, YYSYMBOL_IDENT))
        diag_hint(p->diag, "`%s` is a keyword and cannot be used as a name", name);
    else if (strcmp(name, "'='") == 0 && p->prev_tok >= MODEL && p->prev_tok <= FALSE)
        diag_hint(p->diag, "`%.*s` is a keyword and cannot be used as a name", (int)(p->prev.end - p->prev.start),
                  p->diag->src + p->prev.start);
    else if (p->prev_tok == IDENT && expects(exp, n, (yysymbol_kind_t)YYTRANSLATE('=')) &&
             !expects(exp, n, YYSYMBOL_IDENT))
        diag_hint(p->diag, "is a `->` missing before `%.*s`?", (int)(p->prev.end - p->prev.start > 40 ? 40 : p->prev.end - p->prev.start),
                  p->diag->src + p->prev.start);
    else if (tok == YYSYMBOL_YYEOF && !noted)
        diag_hint(p->diag, "is a `)`, `]` or `}` missing?");
    return 0;
}

static void yyerror(YYLTYPE *loc, yyscan_t scanner, Parser *p, const char *msg)
{
    (void)scanner;
    /* Only reached when Bison's stack is exhausted: absurd nesting. */
    if (strstr(msg, "exhausted")) {
        if (!p->too_deep) {
            diag_error(p->diag, *loc, "expression nested too deeply (more than %d levels)", AST_MAX_DEPTH);
            diag_hint(p->diag, "name intermediate values with `name = ...` to split it up");
        }
        p->too_deep = 1;
    } else {
        diag_error(p->diag, *loc, "%s", msg);
    }
}
