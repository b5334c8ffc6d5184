/*
 * ast.c: constructors for the syntax tree, called from the Bison actions in
 * grammar/parser.y.  They compute spans and nesting depth; they check
 * nothing about meaning, which is sema's job, except the nesting limit that
 * keeps every later recursive walk within a bounded stack.
 */
#include "ast.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

Span span_join(Span a, Span b)
{
    Span s;
    s.start = a.start < b.start ? a.start : b.start;
    s.end = a.end > b.end ? a.end : b.end;
    return s;
}

static Ast *new_node(Parser *p, AstKind kind, Span sp, int depth)
{
    Ast *e = arena_alloc(p->arena, sizeof *e);
    e->kind = kind;
    e->span = sp;
    e->depth = depth;
    e->op = OP_COUNT;
    e->ir_id = -1;
    if (depth > AST_MAX_DEPTH && !p->too_deep) {
        p->too_deep = 1;
        diag_error(p->diag, sp, "expression nested too deeply (more than %d levels)", AST_MAX_DEPTH);
        diag_hint(p->diag, "name intermediate values with `name = ...` to split it up");
    }
    return e;
}

static const char *text(Parser *p, Span sp)
{
    return arena_strndup(p->arena, p->diag->src + sp.start, sp.end - sp.start);
}

Ast *ast_num(Parser *p, Span sp, int negative)
{
    Ast *e = new_node(p, AST_NUM, sp, 1);
    /* sp may include a leading '-' and blanks; the digits are at the end. */
    const char *s = p->diag->src + sp.start, *end = p->diag->src + sp.end;
    while (s < end && (*s == '-' || *s == ' ' || *s == '\t' || *s == '\n' || *s == '\r'))
        s++;
    char *t = arena_strndup(p->arena, s, (size_t)(end - s));
    e->is_int = strpbrk(t, ".eE") == NULL;
    errno = 0;
    e->num = strtod(t, NULL);
    if (isinf(e->num))
        e->num_bad = 1;
    if (negative)
        e->num = -e->num;
    return e;
}

Ast *ast_bool(Parser *p, Span sp, int value)
{
    Ast *e = new_node(p, AST_BOOL, sp, 1);
    e->num = value;
    return e;
}

Ast *ast_name(Parser *p, Span sp)
{
    Ast *e = new_node(p, AST_NAME, sp, 1);
    e->name = text(p, sp);
    e->name_span = sp;
    return e;
}

AstList ast_list_empty(void)
{
    AstList l = {NULL, 0, 0};
    return l;
}

AstList ast_list_push(Parser *p, AstList l, Ast *item)
{
    ARENA_PUSH(p->arena, l.items, l.n, l.cap, item);
    return l;
}

static int max_depth(AstList l)
{
    int d = 0;
    for (int i = 0; i < l.n; i++)
        if (l.items[i]->depth > d)
            d = l.items[i]->depth;
    return d;
}

Ast *ast_list(Parser *p, Span sp, AstList items)
{
    Ast *e = new_node(p, AST_LIST, sp, max_depth(items) + 1);
    e->list = items;
    return e;
}

Ast *ast_call(Parser *p, Span sp, Span label, Span callee, AstList args, int parens)
{
    Ast *e = new_node(p, AST_CALL, sp, max_depth(args) + 1);
    e->name = text(p, callee);
    e->name_span = callee;
    if (label.end > label.start) {
        e->label = text(p, label);
        e->label_span = label;
    }
    e->list = args;
    e->parens = parens;
    return e;
}

Ast *ast_kwarg(Parser *p, Span sp, Span key, Ast *value)
{
    Ast *e = new_node(p, AST_KWARG, sp, value->depth);
    e->name = text(p, key);
    e->name_span = key;
    e->rhs = value;
    return e;
}

Ast *ast_pipe(Parser *p, Ast *head, Ast *stage)
{
    if (head->kind == AST_PIPE && head->span.end <= stage->span.start &&
        !head->parens) {
        /* a -> s0 -> s1: one pipeline with two stages, not a nested one. */
        head->list = ast_list_push(p, head->list, stage);
        head->span = span_join(head->span, stage->span);
        if (stage->depth + 1 > head->depth)
            head->depth = stage->depth + 1;
        return head;
    }
    int d = head->depth > stage->depth ? head->depth : stage->depth;
    Ast *e = new_node(p, AST_PIPE, span_join(head->span, stage->span), d + 1);
    e->lhs = head;
    e->list = ast_list_push(p, e->list, stage);
    return e;
}

Ast *ast_binop(Parser *p, AstKind kind, Ast *lhs, Ast *rhs)
{
    int d = lhs->depth > rhs->depth ? lhs->depth : rhs->depth;
    Ast *e = new_node(p, kind, span_join(lhs->span, rhs->span), d + 1);
    e->lhs = lhs;
    e->rhs = rhs;
    return e;
}

Ast *ast_paren(Parser *p, Span sp, Ast *inner)
{
    (void)p;
    /* Parentheses only group; the span grows to include them so that
     * messages about "(h + r)" underline what was written.  A pipeline in
     * parentheses is closed: a following -> starts a new pipeline. */
    inner->span = sp;
    if (inner->kind == AST_PIPE)
        inner->parens = 1;
    return inner;
}

static Stmt *new_stmt(Parser *p, StmtKind kind, Span sp)
{
    Stmt *s = arena_alloc(p->arena, sizeof *s);
    s->kind = kind;
    s->span = sp;
    s->ir_id = -1;
    return s;
}

Stmt *ast_decl(Parser *p, StmtKind kind, Span sp, Span name, Span type, Ast *dims)
{
    Stmt *s = new_stmt(p, kind, sp);
    s->name = text(p, name);
    s->name_span = name;
    s->type_name = text(p, type);
    s->type_span = type;
    s->dims = dims;
    return s;
}

Stmt *ast_let(Parser *p, StmtKind kind, Span sp, Span name, Ast *expr)
{
    Stmt *s = new_stmt(p, kind, sp);
    if (name.end > name.start) {
        s->name = text(p, name);
        s->name_span = name;
    }
    s->expr = expr;
    return s;
}

Stmt *ast_train(Parser *p, Span sp, Span kw, AstList kwargs)
{
    Stmt *s = new_stmt(p, ST_TRAIN, sp);
    Span none = {kw.start, kw.start};
    s->expr = ast_call(p, sp, none, kw, kwargs, 1);
    return s;
}

void ast_add_stmt(Parser *p, Stmt *s)
{
    if (!p->module)
        p->module = arena_alloc(p->arena, sizeof *p->module);
    Module *m = p->module;
    ARENA_PUSH(p->arena, m->stmts, m->n, m->cap, s);
}

void ast_module(Parser *p, Span sp, Span name)
{
    if (!p->module)
        p->module = arena_alloc(p->arena, sizeof *p->module);
    p->module->name = text(p, name);
    p->module->name_span = name;
    p->module->span = sp;
}

const char *ast_describe(const Ast *e)
{
    switch (e->kind) {
    case AST_NUM: return "a number";
    case AST_BOOL: return "a boolean";
    case AST_NAME: return "a name";
    case AST_LIST: return "a list";
    case AST_CALL: return "a call";
    case AST_PIPE: return "a pipeline";
    case AST_ADD: return "a sum";
    case AST_MUL: return "a product";
    case AST_KWARG: return "a keyword argument";
    }
    return "an expression";
}
