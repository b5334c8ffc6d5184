/*
 * test_lex_parse.c: the lexer and parser (spec sections 2 and 4) through
 * parse_module: comments, optional `;`, numbers, lists, pipelines across
 * lines, labels, direct calls, keyword arguments, the precedence of `->`,
 * `+` and `*`, parenthesised pipelines, the byte spans of AST nodes, and
 * syntax errors with their line:col.  Parsing only: operator names are not
 * looked up here (that is sema), so made-up names such as f are fine.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>

/* The expression of statement i. */
static Ast *expr_of(TestCompile *t, int i)
{
    ck_assert_ptr_nonnull(t->c.module);
    ck_assert_int_gt(t->c.module->n, i);
    return t->c.module->stmts[i]->expr;
}

/* Parse "model m { input x : f32[4]  output y = EXPR }" and return EXPR. */
static Ast *parse_expr(TestCompile *t, const char *expr)
{
    char src[1024];
    snprintf(src, sizeof src, "model m {\n  input x : f32[4]\n  output y = %s\n}\n", expr);
    ck_assert_msg(tc_parse(t, src) == 0, "%s does not parse:\n%s", expr, t->diags);
    return expr_of(t, 1);
}

static void assert_name(Ast *e, const char *name)
{
    ck_assert_int_eq(e->kind, AST_NAME);
    ck_assert_str_eq(e->name, name);
}

/* ---- comments, separators, keywords --------------------------------------- */

START_TEST(test_comments)
{
    TestCompile t;
    ck_assert_int_eq(tc_parse(&t, "# a model\n"
                                  "// written by hand\n"
                                  "model m { # opens\n"
                                  "  input x : f32[1, # channels\n"
                                  "                28, 28] // h, w\n"
                                  "  # -> dense(3) is not code\n"
                                  "  // output z = x\n"
                                  "  output y = x -> flatten # -> relu\n"
                                  "              -> relu\n"
                                  "} // end, and no newline after this comment"),
                     0);
    ck_assert_str_eq(t.diags, "");
    ck_assert_int_eq(t.c.module->n, 2);
    ck_assert_int_eq(t.c.module->stmts[0]->dims->list.n, 3);
    Ast *e = expr_of(&t, 1);
    ck_assert_int_eq(e->kind, AST_PIPE);
    ck_assert_int_eq(e->list.n, 2);
    ck_assert_str_eq(e->list.items[1]->name, "relu");
    tc_free(&t);
}
END_TEST

/* White space is needed only between words. */
START_TEST(test_no_whitespace)
{
    TestCompile t;
    ck_assert_int_eq(tc_compile(&t, "model m{input x:f32[1,4,4];output y=x->flatten->fc:dense(2,bias=false)->relu//c\n}"),
                     0);
    ck_assert_str_eq(t.diags, "");
    ck_assert_str_eq(tc_params(&t), "fc.weight");
    ck_assert_str_eq(tc_shape(&t, tc_node(&t, "y")), "[2]");
    tc_free(&t);
}
END_TEST

START_TEST(test_optional_semicolons)
{
    static const char *const srcs[] = {
        "model m { input x : f32[4] target t : f32[2] h = x -> fc: dense(2) loss mse(h, t) optimizer sgd(lr = 0.1) }",
        "model m { input x : f32[4]; target t : f32[2]; h = x -> fc: dense(2); loss mse(h, t); optimizer sgd(lr = 0.1); }",
        "model m {\n;; input x : f32[4];;\n target t : f32[2]\n h = x\n -> fc: dense(2);\n loss mse(h, t)\n optimizer sgd(lr = 0.1)\n}",
    };
    for (int i = 0; i < 3; i++) {
        TestCompile t;
        ck_assert_msg(tc_compile(&t, srcs[i]) == 0, "%s\n%s", srcs[i], t.diags);
        ck_assert_int_eq(t.c.module->n, 5);
        ck_assert_int_eq(t.c.module->stmts[2]->kind, ST_LET);
        ck_assert_int_eq(t.c.module->stmts[4]->kind, ST_OPTIMIZER);
        ck_assert_str_eq(tc_params(&t), "fc.weight fc.bias");
        tc_free(&t);
    }
}
END_TEST

/* Keywords are whole words: `inputs`, `model_x`, `trainer` are names. */
START_TEST(test_keywords_and_identifiers)
{
    TestCompile t;
    ck_assert_int_eq(tc_parse(&t, "model model_x {\n"
                                  "  input inputs : f32[3]\n"
                                  "  target targets : f32[3]\n"
                                  "  trainer = inputs -> relu\n"
                                  "  output outputs = trainer\n"
                                  "  loss mse(outputs, targets)\n"
                                  "  optimizer sgd(lr = 1, nesterov = false)\n"
                                  "  train { shuffle = true }\n"
                                  "}\n"),
                     0);
    Module *m = t.c.module;
    ck_assert_str_eq(m->name, "model_x");
    ck_assert_int_eq(m->n, 7);
    ck_assert_int_eq(m->stmts[0]->kind, ST_INPUT);
    ck_assert_str_eq(m->stmts[0]->name, "inputs");
    ck_assert_str_eq(m->stmts[0]->type_name, "f32");
    ck_assert_int_eq(m->stmts[1]->kind, ST_TARGET);
    ck_assert_str_eq(m->stmts[2]->name, "trainer");
    ck_assert_int_eq(m->stmts[3]->kind, ST_OUTPUT);
    ck_assert_str_eq(m->stmts[3]->name, "outputs");
    ck_assert_int_eq(m->stmts[4]->kind, ST_LOSS);
    ck_assert_int_eq(m->stmts[5]->kind, ST_OPTIMIZER);
    Ast *nest = m->stmts[5]->expr->list.items[1];
    ck_assert_int_eq(nest->kind, AST_KWARG);
    ck_assert_int_eq(nest->rhs->kind, AST_BOOL);
    ck_assert_double_eq(nest->rhs->num, 0);
    ck_assert_int_eq(m->stmts[6]->kind, ST_TRAIN);
    Ast *sh = m->stmts[6]->expr->list.items[0];
    ck_assert_str_eq(sh->name, "shuffle");
    ck_assert_int_eq(sh->rhs->kind, AST_BOOL);
    ck_assert_double_eq(sh->rhs->num, 1);
    tc_free(&t);
}
END_TEST

/* `output EXPR` without a name is a statement too. */
START_TEST(test_output_forms)
{
    TestCompile t;
    ck_assert_int_eq(tc_parse(&t, "model m { input x : f32[4] output x -> relu }"), 0);
    ck_assert_int_eq(t.c.module->stmts[1]->kind, ST_OUTPUT);
    ck_assert_ptr_null(t.c.module->stmts[1]->name);
    ck_assert_int_eq(t.c.module->stmts[1]->expr->kind, AST_PIPE);
    tc_free(&t);
}
END_TEST

/* ---- numbers and lists ------------------------------------------------------- */

START_TEST(test_numbers)
{
    TestCompile t;
    Ast *e = parse_expr(&t, "x -> f(3, 0.05, 1e-3, .5, -2, 2.5E+2, 7., -.25, 1e3, 0, - 3)");
    ck_assert_int_eq(e->kind, AST_PIPE);
    Ast *call = e->list.items[0];
    static const double want[] = {3, 0.05, 1e-3, .5, -2, 250, 7, -0.25, 1000, 0, -3};
    static const int is_int[] = {1, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1};
    ck_assert_int_eq(call->list.n, 11);
    for (int i = 0; i < 11; i++) {
        Ast *a = call->list.items[i];
        ck_assert_msg(a->kind == AST_NUM, "argument %d is not a number", i);
        ck_assert_double_eq_tol(a->num, want[i], 1e-12);
        ck_assert_msg(a->is_int == is_int[i], "argument %d: is_int %d", i, a->is_int);
        ck_assert_int_eq(a->num_bad, 0);
    }
    ck_assert_str_eq(tc_text(&t, call->list.items[3]->span), ".5");
    ck_assert_str_eq(tc_text(&t, call->list.items[4]->span), "-2");
    tc_free(&t);
}
END_TEST

/* Unary minus applies to numbers only. */
START_TEST(test_minus_on_names_rejected)
{
    TestCompile t;
    ck_assert_int_gt(tc_parse(&t, "model m {\n  input x : f32[4]\n  y = -x\n}\n"), 0);
    ck_assert_has(t.diags, "t.nn:3:8: error: expected number, found identifier `x`");
    ck_assert_ptr_null(t.c.module);
    tc_free(&t);
}
END_TEST

START_TEST(test_lists)
{
    TestCompile t;
    ck_assert_int_eq(tc_parse(&t, "model m {\n"
                                  "  input x : f32[1, 28, 28]\n"
                                  "  output y = x -> f([3, 3], [], [-1, 7], [0.5, [1]])\n"
                                  "}\n"),
                     0);
    Ast *dims = t.c.module->stmts[0]->dims;
    ck_assert_int_eq(dims->kind, AST_LIST);
    ck_assert_int_eq(dims->list.n, 3);
    ck_assert_double_eq(dims->list.items[0]->num, 1);
    ck_assert_double_eq(dims->list.items[2]->num, 28);
    ck_assert_str_eq(tc_text(&t, dims->span), "[1, 28, 28]");
    Ast *call = expr_of(&t, 1)->list.items[0];
    ck_assert_int_eq(call->list.n, 4);
    ck_assert_int_eq(call->list.items[0]->kind, AST_LIST);
    ck_assert_int_eq(call->list.items[0]->list.n, 2);
    ck_assert_int_eq(call->list.items[1]->list.n, 0);
    ck_assert_double_eq(call->list.items[2]->list.items[0]->num, -1);
    ck_assert_int_eq(call->list.items[3]->list.items[1]->kind, AST_LIST);
    tc_free(&t);
}
END_TEST

/* ---- pipelines, calls, labels, keyword arguments ------------------------------- */

START_TEST(test_pipeline_across_lines)
{
    TestCompile t;
    ck_assert_int_eq(tc_parse(&t, "model m {\n"
                                  "  input x : f32[784]\n"
                                  "  logits = x -> dense(256) -> relu\n"
                                  "             -> dense(128)\n"
                                  "\n"
                                  "             -> relu -> dense(10)\n"
                                  "  output probs = logits -> softmax\n"
                                  "}\n"),
                     0);
    Ast *e = expr_of(&t, 1);
    ck_assert_int_eq(e->kind, AST_PIPE);
    assert_name(e->lhs, "x");
    ck_assert_int_eq(e->list.n, 5);
    static const char *const names[] = {"dense", "relu", "dense", "relu", "dense"};
    for (int i = 0; i < 5; i++) {
        Ast *s = e->list.items[i];
        ck_assert_int_eq(s->kind, AST_CALL);
        ck_assert_str_eq(s->name, names[i]);
        ck_assert_ptr_null(s->label);
        ck_assert_int_eq(s->parens, i % 2 == 0);
    }
    ck_assert_double_eq(e->list.items[2]->list.items[0]->num, 128);
    ck_assert_int_eq(t.c.module->n, 3);
    tc_free(&t);
}
END_TEST

START_TEST(test_labels)
{
    TestCompile t;
    Ast *e = parse_expr(&t, "x -> fc1: dense(256) -> act: relu -> dense(10) -> f()");
    ck_assert_int_eq(e->list.n, 4);
    Ast *fc1 = e->list.items[0], *act = e->list.items[1];
    ck_assert_str_eq(fc1->label, "fc1");
    ck_assert_str_eq(fc1->name, "dense");
    ck_assert_int_eq(fc1->parens, 1);
    ck_assert_str_eq(tc_text(&t, fc1->label_span), "fc1");
    ck_assert_str_eq(tc_text(&t, fc1->name_span), "dense");
    ck_assert_str_eq(act->label, "act");
    ck_assert_str_eq(act->name, "relu");
    ck_assert_int_eq(act->parens, 0);
    ck_assert_ptr_null(e->list.items[2]->label);
    ck_assert_int_eq(e->list.items[3]->parens, 1);
    ck_assert_int_eq(e->list.items[3]->list.n, 0);
    tc_free(&t);
}
END_TEST

START_TEST(test_direct_calls_and_kwargs)
{
    TestCompile t;
    ck_assert_int_eq(tc_parse(&t, "model m {\n"
                                  "  input a : f32[4]\n"
                                  "  input b : f32[4]\n"
                                  "  h = dense(a, 256)\n"
                                  "  c = concat(a, b, axis = 0)\n"
                                  "  k = a -> conv2d(6, kernel = [5, 3], padding = same, bias = false, init = normal(0.01))\n"
                                  "  l = fc: dense(a, units = 3)\n"
                                  "}\n"),
                     0);
    Ast *h = expr_of(&t, 2);
    ck_assert_int_eq(h->kind, AST_CALL);
    ck_assert_str_eq(h->name, "dense");
    ck_assert_int_eq(h->list.n, 2);
    assert_name(h->list.items[0], "a");
    ck_assert_double_eq(h->list.items[1]->num, 256);

    Ast *c = expr_of(&t, 3);
    ck_assert_int_eq(c->list.n, 3);
    assert_name(c->list.items[1], "b");
    Ast *kw = c->list.items[2];
    ck_assert_int_eq(kw->kind, AST_KWARG);
    ck_assert_str_eq(kw->name, "axis");
    ck_assert_int_eq(kw->rhs->kind, AST_NUM);
    ck_assert_str_eq(tc_text(&t, kw->span), "axis = 0");
    ck_assert_str_eq(tc_text(&t, kw->name_span), "axis");

    Ast *conv = expr_of(&t, 4)->list.items[0];
    ck_assert_int_eq(conv->list.n, 5);
    ck_assert_int_eq(conv->list.items[0]->kind, AST_NUM);
    static const char *const keys[] = {NULL, "kernel", "padding", "bias", "init"};
    static const AstKind kinds[] = {AST_NUM, AST_LIST, AST_NAME, AST_BOOL, AST_CALL};
    for (int i = 1; i < 5; i++) {
        ck_assert_int_eq(conv->list.items[i]->kind, AST_KWARG);
        ck_assert_str_eq(conv->list.items[i]->name, keys[i]);
        ck_assert_int_eq(conv->list.items[i]->rhs->kind, kinds[i]);
    }
    ck_assert_str_eq(conv->list.items[2]->rhs->name, "same");
    ck_assert_str_eq(conv->list.items[4]->rhs->name, "normal");

    Ast *l = expr_of(&t, 5);
    ck_assert_int_eq(l->kind, AST_CALL);
    ck_assert_str_eq(l->label, "fc");
    ck_assert_int_eq(l->list.items[1]->kind, AST_KWARG);
    tc_free(&t);
}
END_TEST

/* ---- precedence: loosest first ->, then +, then * ---------------------------- */

START_TEST(test_precedence_pipe_loosest)
{
    TestCompile t;
    /* a + b -> relu is relu(a + b) */
    Ast *e = parse_expr(&t, "x + x -> relu");
    ck_assert_int_eq(e->kind, AST_PIPE);
    ck_assert_int_eq(e->lhs->kind, AST_ADD);
    assert_name(e->lhs->lhs, "x");
    assert_name(e->lhs->rhs, "x");
    ck_assert_int_eq(e->list.n, 1);
    ck_assert_str_eq(e->list.items[0]->name, "relu");
    tc_free(&t);

    e = parse_expr(&t, "x * x -> relu -> sigmoid");
    ck_assert_int_eq(e->kind, AST_PIPE);
    ck_assert_int_eq(e->lhs->kind, AST_MUL);
    ck_assert_int_eq(e->list.n, 2);
    tc_free(&t);
}
END_TEST

START_TEST(test_precedence_mul_tighter)
{
    TestCompile t;
    Ast *e = parse_expr(&t, "a + b * c");
    ck_assert_int_eq(e->kind, AST_ADD);
    assert_name(e->lhs, "a");
    ck_assert_int_eq(e->rhs->kind, AST_MUL);
    assert_name(e->rhs->lhs, "b");
    assert_name(e->rhs->rhs, "c");
    tc_free(&t);

    e = parse_expr(&t, "a * b + c");
    ck_assert_int_eq(e->kind, AST_ADD);
    ck_assert_int_eq(e->lhs->kind, AST_MUL);
    assert_name(e->rhs, "c");
    tc_free(&t);

    /* left associative */
    e = parse_expr(&t, "a + b + c");
    ck_assert_int_eq(e->kind, AST_ADD);
    ck_assert_int_eq(e->lhs->kind, AST_ADD);
    assert_name(e->rhs, "c");
    tc_free(&t);

    e = parse_expr(&t, "a * b * c");
    ck_assert_int_eq(e->kind, AST_MUL);
    ck_assert_int_eq(e->lhs->kind, AST_MUL);
    tc_free(&t);

    e = parse_expr(&t, "(a + b) * c");
    ck_assert_int_eq(e->kind, AST_MUL);
    ck_assert_int_eq(e->lhs->kind, AST_ADD);
    ck_assert_str_eq(tc_text(&t, e->lhs->span), "(a + b)");
    tc_free(&t);
}
END_TEST

START_TEST(test_parenthesised_pipelines)
{
    TestCompile t;
    Ast *e = parse_expr(&t, "(x -> relu) + (x -> sigmoid)");
    ck_assert_int_eq(e->kind, AST_ADD);
    ck_assert_int_eq(e->lhs->kind, AST_PIPE);
    ck_assert_int_eq(e->rhs->kind, AST_PIPE);
    ck_assert_str_eq(e->rhs->list.items[0]->name, "sigmoid");
    tc_free(&t);

    /* A pipeline in parentheses is closed: the next -> starts a new one. */
    e = parse_expr(&t, "(x -> relu) -> sigmoid");
    ck_assert_int_eq(e->kind, AST_PIPE);
    ck_assert_int_eq(e->list.n, 1);
    ck_assert_str_eq(e->list.items[0]->name, "sigmoid");
    ck_assert_int_eq(e->lhs->kind, AST_PIPE);
    ck_assert_int_eq(e->lhs->list.n, 1);
    ck_assert_str_eq(e->lhs->list.items[0]->name, "relu");
    tc_free(&t);

    /* ... whereas without them it is one pipeline of two stages. */
    e = parse_expr(&t, "x -> relu -> sigmoid");
    ck_assert_int_eq(e->list.n, 2);
    assert_name(e->lhs, "x");
    tc_free(&t);

    /* A pipeline as a call argument. */
    e = parse_expr(&t, "add(x -> relu, (x -> tanh)) -> relu");
    ck_assert_int_eq(e->kind, AST_PIPE);
    ck_assert_int_eq(e->lhs->kind, AST_CALL);
    ck_assert_int_eq(e->lhs->list.items[0]->kind, AST_PIPE);
    ck_assert_int_eq(e->lhs->list.items[1]->kind, AST_PIPE);
    tc_free(&t);
}
END_TEST

/* `x -> relu + b` does not mean anything: a stage is a call. */
START_TEST(test_sum_after_stage_rejected)
{
    TestCompile t;
    ck_assert_int_gt(tc_parse(&t, "model m {\n  input x : f32[4]\n  output y = x -> relu + x\n}\n"), 0);
    ck_assert_has(t.diags, "t.nn:3:24: error:");
    ck_assert_has(t.diags, "`+`");
    tc_free(&t);
}
END_TEST

/* ---- spans ------------------------------------------------------------------ */

START_TEST(test_spans)
{
    TestCompile t;
    const char *src = "model lenet {\n"
                      "    input  x : f32[1, 28, 28]\n"
                      "    h = x -> fc1: dense(256, bias = false) -> relu\n"
                      "           -> dense(10)\n"
                      "    r = (h + h) * h\n"
                      "    output dense(-2.5, [1, 2])\n"
                      "    train { batch = 64, epochs = 3 }\n"
                      "}";
    ck_assert_int_eq(tc_parse(&t, src), 0);
    Module *m = t.c.module;
    ck_assert_str_eq(tc_text(&t, m->span), src);
    ck_assert_str_eq(tc_text(&t, m->name_span), "lenet");

    Stmt *in = m->stmts[0];
    ck_assert_str_eq(tc_text(&t, in->span), "input  x : f32[1, 28, 28]");
    ck_assert_str_eq(tc_text(&t, in->name_span), "x");
    ck_assert_str_eq(tc_text(&t, in->type_span), "f32");
    ck_assert_str_eq(tc_text(&t, in->dims->list.items[1]->span), "28");
    ck_assert_uint_eq(in->dims->list.items[1]->span.start, (uint32_t)(strstr(src, "28") - src));

    Stmt *h = m->stmts[1];
    ck_assert_str_eq(tc_text(&t, h->span),
                     "h = x -> fc1: dense(256, bias = false) -> relu\n           -> dense(10)");
    ck_assert_str_eq(tc_text(&t, h->name_span), "h");
    Ast *p = h->expr;
    ck_assert_str_eq(tc_text(&t, p->span), "x -> fc1: dense(256, bias = false) -> relu\n           -> dense(10)");
    ck_assert_str_eq(tc_text(&t, p->lhs->span), "x");
    Ast *fc1 = p->list.items[0];
    ck_assert_str_eq(tc_text(&t, fc1->span), "fc1: dense(256, bias = false)");
    ck_assert_str_eq(tc_text(&t, fc1->list.items[0]->span), "256");
    ck_assert_str_eq(tc_text(&t, fc1->list.items[1]->span), "bias = false");
    ck_assert_str_eq(tc_text(&t, fc1->list.items[1]->rhs->span), "false");
    ck_assert_str_eq(tc_text(&t, p->list.items[1]->span), "relu");
    ck_assert_str_eq(tc_text(&t, p->list.items[2]->span), "dense(10)");

    Ast *r = m->stmts[2]->expr;
    ck_assert_str_eq(tc_text(&t, r->span), "(h + h) * h");
    ck_assert_str_eq(tc_text(&t, r->lhs->span), "(h + h)");
    ck_assert_str_eq(tc_text(&t, r->rhs->span), "h");
    ck_assert_uint_eq(r->rhs->span.start, (uint32_t)(strstr(src, "* h") + 2 - src));

    Ast *o = m->stmts[3]->expr;
    ck_assert_str_eq(tc_text(&t, m->stmts[3]->span), "output dense(-2.5, [1, 2])");
    ck_assert_str_eq(tc_text(&t, o->span), "dense(-2.5, [1, 2])");
    ck_assert_str_eq(tc_text(&t, o->list.items[0]->span), "-2.5");
    ck_assert_str_eq(tc_text(&t, o->list.items[1]->span), "[1, 2]");

    Stmt *tr = m->stmts[4];
    ck_assert_str_eq(tc_text(&t, tr->span), "train { batch = 64, epochs = 3 }");
    ck_assert_str_eq(tc_text(&t, tr->expr->list.items[1]->span), "epochs = 3");
    tc_free(&t);
}
END_TEST

/* ---- syntax errors: file:line:col and what was expected ----------------------- */

START_TEST(test_syntax_error_position)
{
    TestCompile t;
    ck_assert_int_gt(tc_parse(&t, "model m {\n  input x : f32[4]\n  y = x -> -> relu\n}\n"), 0);
    ck_assert_has(t.diags, "t.nn:3:12: error: expected identifier, found `->`\n"
                           "    3 |   y = x -> -> relu\n"
                           "      |            ^~\n");
    ck_assert_ptr_null(t.c.module);
    tc_free(&t);

    ck_assert_int_gt(tc_parse(&t, "model m {\n  input x : f32[4]\n  output y = (x -> relu\n}"), 0);
    /* The missing `)`: the error points where line 3 ends, and at the `(`. */
    ck_assert_has(t.diags, "t.nn:3:24: error: expected ");
    ck_assert_has(t.diags, "`)`, found `}` on line 4");
    ck_assert_has(t.diags, "t.nn:3:14: note: the `(` opened here is not closed");
    tc_free(&t);

    ck_assert_int_gt(tc_parse(&t, "model m {\n  input x f32[4]\n}"), 0);
    ck_assert_has(t.diags, "t.nn:2:11: error: expected `:`, found identifier `f32`");
    tc_free(&t);
}
END_TEST

/* After a syntax error the parser goes on to the next statement. */
START_TEST(test_syntax_errors_several)
{
    TestCompile t;
    ck_assert_int_gt(tc_parse(&t, "model m {\n"
                                  "  input x : f32[4]\n"
                                  "  a = x -> -> relu\n"
                                  "  b = x ->\n"
                                  "  output y = x\n"
                                  "}\n"),
                     1);
    ck_assert_has(t.diags, "t.nn:3:12: error:");
    ck_assert_has(t.diags, "t.nn:4:11: error: expected identifier, found `output` on line 5");
    tc_free(&t);
}
END_TEST

/* A missing closing brace at end of file says what is expected (spec 8). */
START_TEST(test_syntax_error_missing_brace)
{
    TestCompile t;
    ck_assert_int_gt(tc_parse(&t, "model m {\n  input x : f32[4]\n  output y = x -> relu\n"), 0);
    ck_assert_has(t.diags, "t.nn:3:");
    ck_assert_has(t.diags, "end of file");
    ck_assert_has(t.diags, "`}`");
    tc_free(&t);
}
END_TEST

/* Spec 8: every error says what was expected.  Common mistakes: */
static const char *const mistakes[] = {
    "  output y = x -> relu + x\n",   /* a sum after a stage */
    "  output y = x -> f(3,,4)\n",    /* an empty argument */
    "  output y =\n",                 /* no expression */
    "  y == x\n  output y\n",        /* == for = */
    "  output y = x -> dense(3\n",    /* unclosed call */
    "  input z : f32[4\n",            /* unclosed list */
    "  output y = x ->\n",            /* dangling arrow */
};

/* msg contains the word "expected" (not just "unexpected"). */
static int says_expected(const char *msg)
{
    for (const char *p = msg; (p = strstr(p, "expected")) != NULL; p++)
        if (p == msg || p[-1] != 'n')
            return 1;
    return 0;
}

START_TEST(test_syntax_error_says_expected)
{
    TestCompile t;
    char src[256];
    snprintf(src, sizeof src, "model m {\n  input x : f32[4]\n%s}\n", mistakes[_i]);
    ck_assert_int_gt(tc_parse(&t, src), 0);
    ck_assert_msg(says_expected(tc_first_error(&t)), "for\n%s\nthe message does not say what was expected:\n%s",
                  mistakes[_i], t.diags);
    tc_free(&t);
}
END_TEST

START_TEST(test_file_structure_errors)
{
    TestCompile t;
    ck_assert_int_gt(tc_parse(&t, ""), 0);
    ck_assert_has(t.diags, "t.nn:1:1: error: expected `model`, found end of file");
    tc_free(&t);

    ck_assert_int_gt(tc_parse(&t, "input x : f32[4]\n"), 0);
    ck_assert_has(t.diags, "t.nn:1:1: error: expected `model`, found `input`");
    ck_assert_has(t.diags, "hint: a .nn file holds one `model NAME { ... }`");
    tc_free(&t);

    /* One model per file. */
    ck_assert_int_gt(tc_parse(&t, "model a { input x : f32[2] output x }\nmodel b { }\n"), 0);
    ck_assert_has(t.diags, "t.nn:2:1: error: expected end of file, found `model`");
    tc_free(&t);

    /* Keywords cannot be names. */
    ck_assert_int_gt(tc_parse(&t, "model m {\n  input model : f32[4]\n}"), 0);
    ck_assert_has(t.diags, "t.nn:2:9: error: expected identifier, found `model`");
    tc_free(&t);
}
END_TEST

START_TEST(test_lexical_errors)
{
    TestCompile t;
    ck_assert_int_gt(tc_parse(&t, "model m {\n  input x : f32[4] $\n}"), 0);
    ck_assert_has(t.diags, "t.nn:2:20: error: unexpected character `$`");
    tc_free(&t);

    ck_assert_int_gt(tc_parse(&t, "model m {\n  input \"x\" : f32[4]\n}"), 0);
    ck_assert_has(t.diags, "t.nn:2:9: error: unexpected character `\"`");
    ck_assert_has(t.diags, "hint: the language has no strings");
    tc_free(&t);

    ck_assert_int_gt(tc_parse(&t, "model m {\n  input x : f32[4]\n  output y = x.relu\n}"), 0);
    ck_assert_has(t.diags, "t.nn:3:15: error: unexpected character `.`");
    tc_free(&t);

    ck_assert_int_gt(tc_parse(&t, "model m {\n  input x : f32[4] / a comment?\n}"), 0);
    ck_assert_has(t.diags, "t.nn:2:20: error: unexpected character `/`");
    ck_assert_has(t.diags, "hint: comments start with `#` or `//`");
    tc_free(&t);

    ck_assert_int_gt(tc_parse(&t, "model m {\n  input x\xc3\xa9 : f32[4]\n}"), 0);
    ck_assert_has(t.diags, "t.nn:2:10: error: unexpected character `\xc3\xa9`");
    tc_free(&t);
}
END_TEST

/* Source text may hold NUL bytes; parsing goes by length. */
START_TEST(test_nul_bytes)
{
    static const char src[] = "model m {\n  input x : f32[4]\0\n  output x\n}";
    Compilation c;
    ck_assert_int_eq(compile_front(&c, "nul.nn", src, sizeof src - 1, NULL, NULL), 1);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    diag_flush(&c.diag, f);
    fclose(f);
    ck_assert_has(buf, "nul.nn:2:19: error: unexpected byte 0x00");
    ck_assert_has(buf, "    2 |   input x : f32[4]?\n");
    free(buf);
    compile_free(&c);
}
END_TEST

START_TEST(test_identifier_length_limit)
{
    char name[AST_MAX_IDENT + 2], src[1024];
    TestCompile t;
    memset(name, 'a', sizeof name);
    name[AST_MAX_IDENT] = '\0';
    snprintf(src, sizeof src, "model m { input %s : f32[2] output %s }", name, name);
    ck_assert_int_eq(tc_parse(&t, src), 0);
    tc_free(&t);
    name[AST_MAX_IDENT] = 'a';
    name[AST_MAX_IDENT + 1] = '\0';
    snprintf(src, sizeof src, "model m { input %s : f32[2] output %s }", name, name);
    ck_assert_int_gt(tc_parse(&t, src), 0);
    ck_assert_has(t.diags, "t.nn:1:17: error: identifier is 256 bytes long; the limit is 255");
    tc_free(&t);
}
END_TEST

/* Absurd nesting is an error, not a stack overflow: deep sums exceed
 * AST_MAX_DEPTH, deep parentheses exhaust Bison's stack. */
START_TEST(test_nesting_limit)
{
    enum { DEEP = 50000 };
    char *src = malloc(6 * DEEP + 100);
    ck_assert_ptr_nonnull(src);
    TestCompile t;
    static const char *const open[] = {"(x + ", "(", "(x + "};
    static const int levels[] = {1000, DEEP, 50};
    for (int k = 0; k < 3; k++) {
        int n = sprintf(src, "model m { input x : f32[2] output y = ");
        for (int i = 0; i < levels[k]; i++)
            n += sprintf(src + n, "%s", open[k]);
        src[n++] = 'x';
        for (int i = 0; i < levels[k]; i++)
            src[n++] = ')';
        strcpy(src + n, " }");
        tc_compile(&t, src);
        if (k < 2) {
            ck_assert_int_eq(t.rc, 1);
            ck_assert_has(t.diags, "nested too deeply");
            ck_assert_int_eq(count_str(t.diags, "error:"), 1);
        } else {
            ck_assert_msg(t.rc == 0, "%s", t.diags); /* fifty levels are fine */
        }
        tc_free(&t);
    }
    free(src);
}
END_TEST

Suite *lex_parse_suite(void)
{
    Suite *s = suite_create("lex_parse");
    TCase *tc = tcase_create("lex");
    tcase_add_test(tc, test_comments);
    tcase_add_test(tc, test_optional_semicolons);
    tcase_add_test(tc, test_no_whitespace);
    tcase_add_test(tc, test_keywords_and_identifiers);
    tcase_add_test(tc, test_numbers);
    tcase_add_test(tc, test_minus_on_names_rejected);
    tcase_add_test(tc, test_lists);
    tcase_add_test(tc, test_lexical_errors);
    tcase_add_test(tc, test_nul_bytes);
    tcase_add_test(tc, test_identifier_length_limit);
    suite_add_tcase(s, tc);

    tc = tcase_create("parse");
    tcase_add_test(tc, test_output_forms);
    tcase_add_test(tc, test_pipeline_across_lines);
    tcase_add_test(tc, test_labels);
    tcase_add_test(tc, test_direct_calls_and_kwargs);
    tcase_add_test(tc, test_precedence_pipe_loosest);
    tcase_add_test(tc, test_precedence_mul_tighter);
    tcase_add_test(tc, test_parenthesised_pipelines);
    tcase_add_test(tc, test_sum_after_stage_rejected);
    tcase_add_test(tc, test_spans);
    tcase_add_test(tc, test_syntax_error_position);
    tcase_add_test(tc, test_syntax_errors_several);
    tcase_add_test(tc, test_syntax_error_missing_brace);
    tcase_add_loop_test(tc, test_syntax_error_says_expected, 0, (int)(sizeof mistakes / sizeof mistakes[0]));
    tcase_add_test(tc, test_file_structure_errors);
    tcase_add_test(tc, test_nesting_limit);
    suite_add_tcase(s, tc);
    return s;
}
