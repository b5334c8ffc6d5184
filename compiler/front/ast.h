/*
 * ast.h: the syntax tree of a .nn file, with a source span on every node.
 *
 * The parser builds it through the ast_* constructors (one call per Bison
 * action); sema then annotates calls and names in place (the fields marked
 * "sema").  The AST keeps what the user wrote; the IR (ir.h) is the typed
 * dataflow graph lowered from it.
 */
#ifndef NNC_AST_H
#define NNC_AST_H

#include "arena.h"
#include "diag.h"
#include "ops.h"

/* Expressions nest at most this deep (parentheses, calls, lists, + and *);
 * deeper input is rejected so that no later phase can overflow its stack. */
#define AST_MAX_DEPTH 200

/* Identifiers are at most this many bytes. */
#define AST_MAX_IDENT 255

typedef enum AstKind {
    AST_NUM,    /* 3, 0.05, -1e-3 */
    AST_BOOL,   /* true, false */
    AST_NAME,   /* a value, or an enumeration word such as he_normal */
    AST_LIST,   /* [1, 28, 28] */
    AST_CALL,   /* [label:] f(args) or a bare f as a pipeline stage */
    AST_PIPE,   /* head -> stage -> stage ... */
    AST_ADD,    /* a + b */
    AST_MUL,    /* a * b */
    AST_KWARG   /* k = v, inside a call's argument list */
} AstKind;

typedef struct Ast Ast;
typedef struct Stmt Stmt;

typedef struct AstList {
    Ast **items;
    int n, cap;
} AstList;

struct Ast {
    AstKind kind;
    Span span;          /* the whole expression */
    int depth;          /* nesting depth, 1 for a leaf */

    double num;         /* AST_NUM, AST_BOOL (0/1) */
    int is_int;         /* AST_NUM: written without '.' or exponent */
    int num_bad;        /* AST_NUM: overflowed to infinity */

    const char *name;   /* AST_NAME; AST_CALL callee; AST_KWARG key */
    Span name_span;
    const char *label;  /* AST_CALL: "fc1" in fc1: dense(10) */
    Span label_span;
    int parens;         /* AST_CALL: written with an argument list */

    AstList list;       /* AST_LIST items; AST_CALL args; AST_PIPE stages */
    Ast *lhs, *rhs;     /* AST_PIPE head; AST_ADD/MUL operands; AST_KWARG value in rhs */

    /* sema, AST_CALL: */
    Op op;              /* OP_COUNT when it could not be resolved */
    Value *args;        /* op_info[op].nargs resolved arguments */
    Ast **tensors;      /* tensor operands, the piped value first */
    int ntensors;
    const char *prefix; /* parameter names are prefix.weight, prefix.bias */
    const char *value_name; /* name shown in dumps: "logits.2", "fc1" */
    int bad;            /* sema: the call could not be checked; lower poisons it */
    /* sema, AST_NAME: */
    Stmt *binding;      /* the statement that defines the name */
    int ir_id;          /* lower: IR node of this expression, -1 if none */
};

typedef enum StmtKind {
    ST_INPUT,       /* input x : f32[784] */
    ST_TARGET,      /* target y : class[10] */
    ST_LET,         /* h = expr */
    ST_OUTPUT,      /* output [name =] expr */
    ST_LOSS,        /* loss f(pred, target, ...) */
    ST_OPTIMIZER,   /* optimizer f(k = v, ...) */
    ST_TRAIN        /* train { k = v, ... } */
} StmtKind;

struct Stmt {
    StmtKind kind;
    Span span;
    const char *name;       /* bound name, NULL for unnamed statements */
    Span name_span;
    const char *type_name;  /* ST_INPUT/ST_TARGET: "f32", "class" */
    Span type_span;
    Ast *dims;              /* ST_INPUT/ST_TARGET: an AST_LIST */
    Ast *expr;              /* the statement's expression; ST_TRAIN: a call named "train" */
    int index;              /* position in Module.stmts */
    int used;               /* sema: the name is referred to */
    int bad;                /* sema: a malformed declaration; lower poisons it */
    int ir_id;              /* lower: the IR node of the bound value */
};

typedef struct Module {
    const char *name;
    Span name_span;
    Span span;
    Stmt **stmts;
    int n, cap;
    /* sema: the statements of which there is at most one */
    Stmt *loss, *optimizer, *train, *output;
    Value *train_args;      /* sema: the train block's values, defaults filled */
} Module;

/* What the parser actions build into. */
typedef struct Parser {
    Arena *arena;
    Diag *diag;
    Module *module;
    uint32_t off;       /* lexer: byte offset of the next token */
    int too_deep;       /* reported "nested too deeply" once */
    /* lexer, for syntax messages: the last two tokens (last is the
     * parser's lookahead when it reports) and the open brackets. */
    Span prev, last;
    int prev_tok, last_tok;
    Span open[64];
    char open_kind[64];
    int nopen;          /* may exceed 64; only the first 64 are kept */
    int err_line;       /* line of the last syntax error reported */
} Parser;

Ast *ast_num(Parser *p, Span sp, int negative);
Ast *ast_bool(Parser *p, Span sp, int value);
Ast *ast_name(Parser *p, Span sp);
Ast *ast_list(Parser *p, Span sp, AstList items);
AstList ast_list_push(Parser *p, AstList l, Ast *item);
AstList ast_list_empty(void);
Ast *ast_call(Parser *p, Span sp, Span label, Span callee, AstList args, int parens);
Ast *ast_kwarg(Parser *p, Span sp, Span key, Ast *value);
Ast *ast_pipe(Parser *p, Ast *head, Ast *stage);
Ast *ast_binop(Parser *p, AstKind kind, Ast *lhs, Ast *rhs);
Ast *ast_paren(Parser *p, Span sp, Ast *inner);

Stmt *ast_decl(Parser *p, StmtKind kind, Span sp, Span name, Span type, Ast *dims);
Stmt *ast_let(Parser *p, StmtKind kind, Span sp, Span name, Ast *expr);
Stmt *ast_train(Parser *p, Span sp, Span kw, AstList kwargs);
void ast_add_stmt(Parser *p, Stmt *s);
void ast_module(Parser *p, Span sp, Span name);

/* A span that covers a and b. */
Span span_join(Span a, Span b);

/* Text of an expression kind, for messages ("a number", "a list"). */
const char *ast_describe(const Ast *e);

/* Parse path's text (len bytes; may contain NULs) into a Module.  Returns
 * NULL after reporting errors to d.  Implemented in parse.c around the Flex
 * lexer and Bison parser generated from grammar/. */
Module *parse_module(Arena *a, Diag *d);

#endif
