/* Saved-command parameters: placeholder parsing, the literal handed to each interpreter (checked by
 * running sh, bash, python3 and perl on the result), value and pattern checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "server/params.h"

/* ---- placeholders ---- */

struct seen {
    char names[8][80];
    size_t offsets[8];
    int n;
};

static int collect(void *ud, const char *name, size_t len, size_t offset)
{
    struct seen *s = ud;
    assert_true(s->n < 8);
    snprintf(s->names[s->n], sizeof s->names[0], "%.*s", (int)len, name);
    s->offsets[s->n++] = offset;
    return 0;
}

static int scan_for(const char *interp, const char *cmd, struct seen *s, char *err)
{
    memset(s, 0, sizeof *s);
    err[0] = '\0';
    return params_scan(cmd, strlen(cmd), interp, collect, s, err, 512);
}

static int scan(const char *cmd, struct seen *s, char *err)
{
    return scan_for("sh", cmd, s, err);
}

static void test_scan_finds_placeholders(void **state)
{
    struct seen s;
    char err[512];
    char name64[80], cmd[120];
    (void)state;

    assert_int_equal(scan("echo {{a}} x{{b_2}}y {{_Z9}}", &s, err), 0);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.names[0], "a");
    assert_int_equal(s.offsets[0], 5);
    assert_string_equal(s.names[1], "b_2");
    assert_int_equal(s.offsets[1], 12);
    assert_string_equal(s.names[2], "_Z9");
    /* braces that are not "{{" are plain text */
    assert_int_equal(scan("awk '{print $1}' }} { {a} } ${x} {", &s, err), 0);
    assert_int_equal(s.n, 0);
    assert_int_equal(scan("{{a}}}", &s, err), 0);
    assert_int_equal(s.n, 1);
    assert_int_equal(scan("{{a}}{{a}}", &s, err), 0);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.offsets[1], 5);
    memset(name64, 'n', 64);
    name64[64] = '\0';
    snprintf(cmd, sizeof cmd, "x {{%s}}", name64);
    assert_int_equal(scan(cmd, &s, err), 0);
    assert_string_equal(s.names[0], name64);
}

static void expect_scan_error_for(const char *interp, const char *cmd, const char *want)
{
    struct seen s;
    char err[512];
    int rc = scan_for(interp, cmd, &s, err);
    if (rc != -EINVAL || (want && !strstr(err, want)))
        fail_msg("%s scan of '%s': rc %d, error '%s' does not contain '%s'",
                 interp ? interp : "any", cmd, rc, err, want ? want : "(any error)");
}

static void expect_scan_error(const char *cmd, const char *want)
{
    expect_scan_error_for("sh", cmd, want);
}

static void expect_scan_ok_for(const char *interp, const char *cmd)
{
    struct seen s;
    char err[512];
    if (scan_for(interp, cmd, &s, err))
        fail_msg("%s scan of '%s' refused: %s", interp, cmd, err);
}

/* Where a placeholder may stand: in code, not in a string, comment, here-document or
 * backquoted command. Common templates that are fine must stay fine. */
static void test_scan_context(void **state)
{
    (void)state;
    /* sh: fine */
    expect_scan_ok_for("sh", "echo \"$(echo {{a}})\" \"${HOME}\" {{a}}");
    expect_scan_ok_for("sh", "for f in {{a}} {{b}}; do echo \"$f\"; done");
    expect_scan_ok_for("sh", "x=$(( 1 + 2 )); echo {{a}}");
    expect_scan_ok_for("sh", "cat <<'EOF'\nit's not here\n\nEOF\necho {{a}}");
    expect_scan_error_for("sh", "cat <<'EOF'\nit's {{in}} here\nEOF\necho {{a}}",
                          "{{in}} at byte 17 is inside a here-document");
    expect_scan_ok_for("sh", "cat <<EOF\nbody\nEOF\necho {{a}}");
    expect_scan_ok_for("sh", "cat <<-X\n\tbody\n\tX\necho {{a}} <<< {{b}}");
    expect_scan_ok_for("sh", "# it's a comment\necho {{a}} # also 'this'\necho {{b}}");
    expect_scan_ok_for("sh", "echo ${x:-{{a}}} a#b {{c}} $# {{d}}");
    expect_scan_ok_for("sh", "case {{a}} in x) echo y;; esac; (cd /tmp && ls {{b}})");
    expect_scan_ok_for("bash", "echo $'it\\'s' {{a}} \\' {{b}} \"a\\\"b\" {{c}}");
    expect_scan_ok_for("sh", "grep -c '^x' {{a}} | wc -l > /dev/null 2>&1 && echo \"$(date)\" {{b}}");
    expect_scan_ok_for("sh", "echo \"$(echo \"in\" {{a}})\"");
    /* sh: refused */
    expect_scan_error_for("sh", "echo \"hi {{a}}\"", "{{a}} at byte 9 is inside a double-quoted "
                          "string, where its quoted value would not be one literal; put it in "
                          "code (close the quotes before it) or use the environment variable "
                          "TETHER_PARAM_A there");
    expect_scan_error_for("sh", "echo 'hi {{a}} there'", "inside a single-quoted string");
    expect_scan_error_for("sh", "echo `echo {{a}}`", "inside a backquoted command");
    expect_scan_error_for("bash", "echo $'a {{b}}'", "inside a $'...' string");
    expect_scan_error_for("sh", "echo a # note {{a}}", "inside a comment");
    expect_scan_error_for("sh", "cat <<EOF\nhello {{a}}\nEOF", "inside a here-document");
    expect_scan_error_for("sh", "cat <<-'X'\n\t{{a}}\n\tX", "inside a here-document");
    expect_scan_error_for("sh", "cat <<A <<B\na\nA\n{{b}}\nB\n", "{{b}} at byte 16 is inside a "
                          "here-document");
    expect_scan_error_for("sh", "echo \"${x:-{{a}}}\"", "inside a ${...} inside a double-quoted");
    expect_scan_error_for("sh", "echo \"$(echo \"x {{a}}\")\"", "inside a double-quoted string");
    /* python3 */
    expect_scan_ok_for("python3", "import sys\nprint({{a}}, 'x', \"y\") # {{a}} in a comment\n"
                                  "s = '''many\nlines''' + {{b}}");
    expect_scan_error_for("python3", "print('hi {{a}}')", "inside a single-quoted string");
    expect_scan_error_for("python3", "print(f\"hi { {{a}} }\")", "inside a double-quoted string");
    expect_scan_error_for("python3", "s = \"\"\"\n{{a}}\n\"\"\"", "inside a triple-quoted");
    expect_scan_error_for("python3", "s = 'it\\'s {{a}}'", "inside a single-quoted");
    /* perl */
    expect_scan_ok_for("perl", "my @x = (1); print $#x, {{a}}, \"\\n\";");
    expect_scan_error_for("perl", "print \"hi {{a}}\\n\";", "inside a double-quoted string");
    expect_scan_error_for("perl", "print `echo {{a}}`;", "inside a backquoted command");
    expect_scan_error_for("perl", "print 1; # {{a}}\n", "inside a comment");
}

/* What may come right before a placeholder depends on the interpreter: nothing that changes
 * how the literal after it is read. */
static void test_scan_character_before(void **state)
{
    (void)state;
    /* \ escapes the opening quote in a shell; $'…' is ANSI-C quoting in bash */
    expect_scan_error_for("sh", "echo \\{{a}}", "follows '\\'");
    expect_scan_error_for("bash", "echo ${{a}}", "follows '$'");
    expect_scan_ok_for("sh", "echo v{{a}} --x={{a}} /p/{{a}}.log ({{a}}) x:{{a}}");
    /* python3: f'…' evaluates {…}; r'…', b'…' change the escapes */
    expect_scan_error_for("python3", "print(f{{a}})", "follows 'f'");
    expect_scan_error_for("python3", "print(r{{a}})", "follows 'r'");
    expect_scan_error_for("python3", "x = 1{{a}}", "follows '1'");
    expect_scan_error_for("python3", "print(\\{{a}})", "follows '\\'");
    expect_scan_ok_for("python3", "print({{a}}, [{{a}}], {{a}}+{{a}}, x={{a}})");
    expect_scan_ok_for("python3", "d = {1: {{a}}}");
    /* perl: qx'…' runs a shell, s'…' substitutes, $' and @' are variables */
    expect_scan_error_for("perl", "print qx{{a}};", "follows 'x'");
    expect_scan_error_for("perl", "print ${{a}};", "follows '$'");
    expect_scan_error_for("perl", "print @{{a}};", "follows '@'");
    expect_scan_error_for("perl", "%{{a}}", "follows '%'");
    expect_scan_error_for("perl", "&{{a}}", "follows '&'");
    expect_scan_ok_for("perl", "print {{a}}, ({{a}}) . {{a}}; my $x = {{a}};");
    /* unknown interpreter: every rule */
    expect_scan_error_for(NULL, "echo ${{a}}", "follows '$'");
    expect_scan_error_for(NULL, "echo v{{a}}", "follows 'v'");
}

static void test_scan_errors(void **state)
{
    char cmd[120], name65[80];
    (void)state;
    expect_scan_error("echo {{}}", "'{{' at byte 5");
    expect_scan_error("echo {{ a }}", "'{{' at byte 5");
    expect_scan_error("{{a}", "'{{' at byte 0");
    expect_scan_error("{{a", "'{{' at byte 0");
    expect_scan_error("x {{", "'{{' at byte 2");
    expect_scan_error("{{1a}}", "does not start a placeholder");
    expect_scan_error("{{a-b}}", "'{{' at byte 0");
    expect_scan_error("{{{a}}}", "'{{' at byte 0");
    expect_scan_error("ok {{a}} then {{b", "'{{' at byte 14");
    expect_scan_error("python: f'{{}}'", "'{{' at byte 10");
    memset(name65, 'n', 65);
    name65[65] = '\0';
    snprintf(cmd, sizeof cmd, "{{%s}}", name65);
    expect_scan_error(cmd, "at most 64");
    /* inside quotes, or next to one: the quoting would be undone */
    expect_scan_error("echo \"{{a}}\"", "{{a}} at byte 6 is inside a double-quoted string");
    expect_scan_error("echo '{{a}}'", "inside a single-quoted string");
    expect_scan_error("echo {{a}}'s'", "{{a}} at byte 5 is written next to a quote");
    expect_scan_error_for("python3", "x = {{a}}\"s\"", "next to a quote");
}

static int stop_at_second(void *ud, const char *name, size_t len, size_t offset)
{
    int *calls = ud;
    (void)name; (void)len; (void)offset;
    return ++*calls == 2 ? -E2BIG : 0;
}

static void test_scan_callback_stops(void **state)
{
    char err[64];
    int calls = 0;
    (void)state;
    assert_int_equal(params_scan("{{a}} {{b}} {{c}}", 17, "sh", stop_at_second, &calls, err,
                                 sizeof err), -E2BIG);
    assert_int_equal(calls, 2);
}

/* ---- quoting: exact forms ---- */

static void expect_quote(const char *interp, const char *value, const char *want)
{
    struct buf b = BUF_INIT;
    assert_int_equal(params_quote(&b, interp, value, strlen(value)), 0);
    assert_string_equal(b.data, want);
    buf_free(&b);
}

static void test_quote_forms(void **state)
{
    struct buf b = BUF_INIT;
    (void)state;
    expect_quote("sh", "", "''");
    expect_quote("sh", "plain", "'plain'");
    expect_quote("sh", "it's", "'it'\\''s'");
    expect_quote("bash", "'; rm -rf / #", "''\\''; rm -rf / #'");
    expect_quote("sh", "$(id) `id` \\ \"\n", "'$(id) `id` \\ \"\n'");
    expect_quote("python3", "", "''");
    expect_quote("python3", "it's \"q\" \\", "'it\\'s \\\"q\\\" \\\\'");
    expect_quote("python3", "a\nb\rc\td\x01\x7f", "'a\\nb\\rc\\td\\x01\\x7f'");
    expect_quote("python3", "\xc3\xa9\xe2\x98\x83\xf0\x9f\x98\x80", "'\\u00e9\\u2603\\U0001f600'");
    expect_quote("python3", "{{x}} $(id)", "'{{x}} $(id)'");
    expect_quote("perl", "", "''");
    expect_quote("perl", "it's \\ \"$x @y\"", "'it\\'s \\\\ \"$x @y\"'");
    expect_quote("perl", "a\nb", "'a\nb'");
    /* CR LF would read as LF inside '...': the escaped "..." form, no interpolation */
    expect_quote("perl", "a\r\nb$x@y\"\\\xc3\xa9", "\"a\\x{0d}\\x{0a}b\\$x\\@y\\\"\\\\\\x{c3}\\x{a9}\"");
    assert_int_equal(params_quote(&b, "ruby", "x", 1), -EINVAL);
    /* invalid UTF-8 cannot become a Python literal (values are checked before) */
    assert_int_equal(params_quote(&b, "python3", "\xff", 1), -EINVAL);
    assert_int_equal(params_quote(&b, "python3", "\xed\xa0\x80", 3), -EINVAL); /* surrogate */
    assert_int_equal(params_quote(&b, "python3", "\xc0\xaf", 2), -EINVAL);     /* overlong */
    buf_free(&b);
}

/* ---- quoting: what the interpreters make of it ---- */

static const char *const tricky[] = {
    "", "plain", "it's", "'", "''", "\\", "\\'", "'\\", "$(touch /tmp/tether-params-pwned)",
    "`touch /tmp/tether-params-pwned`", "'; touch /tmp/tether-params-pwned #", "a\nb", "\n",
    "\n\n", "x\ntouch /tmp/tether-params-pwned", "{{v}}", "{{other}}", "\"", "\"\"\"", "'''",
    "$HOME ${PATH} $0 $@ $$", "*", "~root", "-n", "--", "tab\there", "\r", "\r\n",
    "\x01\x02\x1b[31m\x1f\x7f", "a\x04" "b\x1a\x1a\x04", "\r\n\r\n",
    "\xc3\xbc" "n\xc3\xaf" "c\xc3\xb6" "d\xc3\xa9 \xe2\x98\x83 \xf0\x9f\x98\x80",
    "\\x41\\u0041\\N{LATIN SMALL LETTER A}\\0", "%s %d %n",
    "@{[ `touch /tmp/tether-params-pwned` ]}",
    "$x @ARGV %ENV", "\\\\'", "end\\", "\xc2\x85 next line \xe2\x80\xa8 ls \xe2\x80\xa9",
    "a'b\"c`d$e\\f!g#h;i&j|k<l>m(n)o{p}q[r]s*t?u~v", "__END__", "\")\nimport os\n#",
};

/* One line of the test script per value: prints the value, then a NUL (values have none). */
static int line_of(const char *interp, struct buf *tpl, int i)
{
    if (!strcmp(interp, "python3"))
        return buf_printf(tpl, "w({{v%d}}.encode('utf-8') + b'\\0')\n", i);
    if (!strcmp(interp, "perl"))
        return buf_printf(tpl, "print {{v%d}}, \"\\0\";\n", i);
    return buf_printf(tpl, "printf '%%s\\0' {{v%d}}\n", i);
}

static bool have(const char *interp)
{
    char cmd[64];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", interp);
    return system(cmd) == 0;
}

#define NVALUES 400

struct values {
    struct param_binding b[NVALUES];
    char names[NVALUES][8];
    size_t n;
};

static void add_value(struct values *v, const char *value, size_t n)
{
    assert_true(v->n < NVALUES);
    snprintf(v->names[v->n], sizeof v->names[0], "v%zu", v->n);
    v->b[v->n].name = v->names[v->n];
    v->b[v->n].value = value;
    v->b[v->n].len = n;
    v->n++;
}

/* Renders one script printing every value, runs it with interp (one process), and checks that
 * each value came out byte for byte. */
static void run_values(const char *interp, const struct values *v)
{
    struct buf tpl = BUF_INIT, script = BUF_INIT, got = BUF_INIT;
    char err[256], path[] = "/tmp/tether-params-XXXXXX", cmd[128], chunk[4096];
    size_t r, pos = 0;
    FILE *p;
    int fd;

    if (!strcmp(interp, "python3"))
        buf_append_str(&tpl, "import sys\nw = sys.stdout.buffer.write\n");
    for (size_t i = 0; i < v->n; i++)
        assert_int_equal(line_of(interp, &tpl, (int)i), 0);
    assert_int_equal(params_render(tpl.data, tpl.len, interp, v->b, v->n, &script, err,
                                   sizeof err), 0);
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, script.data, script.len), (ssize_t)script.len);
    close(fd);
    snprintf(cmd, sizeof cmd, "%s %s", interp, path);
    p = popen(cmd, "r");
    assert_non_null(p);
    while ((r = fread(chunk, 1, sizeof chunk, p)) > 0)
        assert_int_equal(buf_append(&got, chunk, r), 0);
    assert_int_equal(pclose(p), 0);
    unlink(path);
    for (size_t i = 0; i < v->n; i++) {
        const char *end = pos < got.len ? memchr(got.data + pos, '\0', got.len - pos) : NULL;
        size_t len = end ? (size_t)(end - (got.data + pos)) : 0;
        if (!end || len != v->b[i].len || memcmp(got.data + pos, v->b[i].value, len))
            fail_msg("%s: value %zu (%zu bytes '%.*s') came out as '%.*s'", interp, i,
                     v->b[i].len, (int)v->b[i].len, v->b[i].value, end ? (int)len : 0,
                     end ? got.data + pos : "");
        pos += len + 1;
    }
    assert_int_equal(pos, got.len);
    buf_free(&tpl);
    buf_free(&script);
    buf_free(&got);
}

static void round_trip_all(const char *interp)
{
    static struct values v;
    static char random_values[300][600];
    struct stat st;
    unsigned seed = 12345;
    /* pieces the random values are made of */
    static const char *const parts[] = { "'", "\"", "\\", "`", "$", "(", ")", "{{", "}}", "\n",
                                         "\r", "\r\n", "\t", " ", "#", ";", "&", "|", "!", "a",
                                         "Z", "0", "\x01", "\x04", "\x1a", "\x7f", "\xc3\xa9",
                                         "\xe2\x98\x83", "\xf0\x9f\x98\x80", "@", "%", "{", "}",
                                         "\\'", "'\\''", "{{v0}}" };
    char *big;

    if (!have(interp)) {
        skip();
        return;
    }
    unlink("/tmp/tether-params-pwned");
    memset(&v, 0, sizeof v);
    for (size_t i = 0; i < sizeof tricky / sizeof tricky[0]; i++)
        add_value(&v, tricky[i], strlen(tricky[i]));
    for (int i = 0; i < 300; i++) {
        size_t n = 0;
        int k = (int)(rand_r(&seed) % 40);
        for (int j = 0; j < k; j++) {
            const char *p = parts[rand_r(&seed) % (sizeof parts / sizeof parts[0])];
            memcpy(random_values[i] + n, p, strlen(p));
            n += strlen(p);
        }
        add_value(&v, random_values[i], n);
    }
    /* the largest value */
    big = malloc(PARAM_VALUE_MAX);
    assert_non_null(big);
    for (size_t i = 0; i < PARAM_VALUE_MAX; i++)
        big[i] = "'\\\"$`\n a"[i % 8];
    add_value(&v, big, PARAM_VALUE_MAX);
    run_values(interp, &v);
    free(big);
    assert_int_not_equal(stat("/tmp/tether-params-pwned", &st), 0);
}

static void test_round_trip_sh(void **state) { (void)state; round_trip_all("sh"); }
static void test_round_trip_bash(void **state) { (void)state; round_trip_all("bash"); }
static void test_round_trip_python3(void **state) { (void)state; round_trip_all("python3"); }
static void test_round_trip_perl(void **state) { (void)state; round_trip_all("perl"); }

/* ---- rendering ---- */

static void test_render(void **state)
{
    const char *cmd = "cp {{src}} {{dst}} && echo {{src}}";
    struct param_binding b[] = { { "src", "a b", 3 }, { "dst", "{{src}}", 7 } };
    struct buf out = BUF_INIT;
    char err[256];
    (void)state;

    assert_int_equal(params_render(cmd, strlen(cmd), "sh", b, 2, &out, err, sizeof err), 0);
    /* a value is never scanned again: {{src}} inside dst stays text */
    assert_string_equal(out.data, "cp 'a b' '{{src}}' && echo 'a b'");
    buf_reset(&out);
    assert_int_equal(params_render("no placeholders", 15, "perl", b, 2, &out, err, sizeof err),
                     0);
    assert_string_equal(out.data, "no placeholders");
    buf_reset(&out);
    assert_int_equal(params_render("x {{gone}}", 10, "sh", b, 2, &out, err, sizeof err),
                     -EINVAL);
    assert_non_null(strstr(err, "{{gone}}"));
    assert_int_equal(params_render("x {{src}}", 9, "ruby", b, 2, &out, err, sizeof err),
                     -EINVAL);
    assert_non_null(strstr(err, "interpreter"));
    assert_int_equal(params_render("x {{ src}}", 10, "sh", b, 2, &out, err, sizeof err),
                     -EINVAL);
    buf_reset(&out);
    struct param_binding empty = { "e", "", 0 };
    assert_int_equal(params_render("echo {{e}}!", 11, "python3", &empty, 1, &out, err,
                                   sizeof err), 0);
    assert_string_equal(out.data, "echo ''!");
    buf_free(&out);
}

/* ---- values and patterns ---- */

static void check_value(const char *v, size_t n, const char *pattern, bool ok, const char *why)
{
    char err[256] = "";
    int rc = params_value_check(v, n, pattern, err, sizeof err);
    if (ok && rc)
        fail_msg("value '%.*s' / pattern '%s' refused: %s", (int)n, v, pattern, err);
    if (!ok && (rc != -EINVAL || !strstr(err, why)))
        fail_msg("value '%.*s' / pattern '%s': rc %d, error '%s' lacks '%s'", (int)n, v,
                 pattern ? pattern : "-", rc, err, why);
    /* the value itself is never in the message */
    if (!ok && n > 3)
        assert_null(memmem(err, strlen(err), v, n));
}

static void test_values(void **state)
{
    char *big = malloc(PARAM_VALUE_MAX + 1);
    (void)state;
    assert_non_null(big);
    memset(big, 'a', PARAM_VALUE_MAX + 1);
    check_value(big, PARAM_VALUE_MAX, NULL, true, NULL);
    check_value(big, PARAM_VALUE_MAX, "a+", true, NULL);
    check_value(big, PARAM_VALUE_MAX + 1, NULL, false, "at most 4096");
    free(big);
    check_value("", 0, NULL, true, NULL);
    check_value("a\0b", 3, NULL, false, "NUL");
    check_value("ab\xff", 3, NULL, false, "UTF-8");
    check_value("\xc3\xa9t\xc3\xa9", 5, NULL, true, NULL);
    /* the whole value must match, anchored or not */
    check_value("prod", 4, "[a-z]+", true, NULL);
    check_value("prod; rm -rf /", 14, "[a-z]+", false, "does not match the pattern [a-z]+");
    check_value("x prod", 6, "[a-z]+", false, "does not match");
    check_value("prod", 4, "^[a-z]+$", true, NULL);
    check_value("prod\nrm", 7, "^[a-z]+$", false, "does not match");
    check_value("prod\n", 5, "^[a-z]+$", false, "does not match");
    check_value("ab", 2, "a|ab", true, NULL);
    check_value("abcd", 4, "(a|ab)(c|bcd)", true, NULL);
    check_value("", 0, "[a-z]*", true, NULL);
    check_value("", 0, "[a-z]+", false, "does not match");
    /* a pattern cannot escape the anchoring with unbalanced parentheses */
    check_value("axxx; rm", 8, "a)|(b)", false, "does not match");
    check_value("a)", 2, "a)|(b)", true, NULL);
    check_value("1.2.3", 5, "[0-9]+(\\.[0-9]+)*", true, NULL);
    check_value("1.2.", 4, "[0-9]+(\\.[0-9]+)*", false, "does not match");
}

static void expect_pattern(const char *p, bool ok, const char *why)
{
    char err[256] = "";
    int rc = params_pattern_check(p, err, sizeof err);
    if (ok && rc)
        fail_msg("pattern '%s' refused: %s", p, err);
    if (!ok && (rc != -EINVAL || !strstr(err, why)))
        fail_msg("pattern '%s': rc %d, error '%s' lacks '%s'", p, rc, err, why);
}

static void test_patterns(void **state)
{
    char long_pattern[PARAM_PATTERN_MAX + 2];
    (void)state;
    expect_pattern("^[a-z]+$", true, NULL);
    expect_pattern("[[:alnum:]_.-]{1,64}", true, NULL);
    expect_pattern("(prod|staging)", true, NULL);
    expect_pattern("\\\\1", true, NULL); /* an escaped backslash, then 1 */
    expect_pattern("", false, "1 to 512 bytes");
    expect_pattern("(a", false, "not a valid POSIX extended regular expression");
    expect_pattern("[a-", false, "not a valid");
    expect_pattern("a{2,1}", false, "not a valid");
    expect_pattern("(a)\\1", false, "back-references");
    /* repetitions multiply once compiled; the cap is 1024 positions */
    expect_pattern("^.{0,1000}$", true, NULL);
    expect_pattern("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", true, NULL);
    expect_pattern("[0-9]{1,3}(\\.[0-9]{1,3}){3}", true, NULL);
    expect_pattern("[{1000}]{1000}", true, NULL);    /* braces in a bracket are members */
    expect_pattern("a\\{100000\\}", true, NULL);  /* escaped: no interval */
    expect_pattern("(.{1,30}){30}", true, NULL);
    expect_pattern("((a{1000}){1000}){1000}", false, "too large once compiled");
    expect_pattern("(.{1,100}){100}", false, "too large once compiled");
    expect_pattern(".{0,1100}", false, "too large");
    expect_pattern("(a{33}){33}", false, "too large");
    expect_pattern("(((((((((((a+)+)+)+)+)+)+)+)+)+)+)+", false, "too large");
    expect_pattern("(a{100}){10,}", false, "too large");   /* {n,} is n + 1 copies */
    expect_pattern("((((((((((((((((((((((((((((((((((a))))))))))))))))))))))))))))))))))", false,
                   "nested groups");
    memset(long_pattern, 'a', PARAM_PATTERN_MAX);
    long_pattern[PARAM_PATTERN_MAX] = '\0';
    expect_pattern(long_pattern, true, NULL);
    long_pattern[PARAM_PATTERN_MAX] = 'a';
    long_pattern[PARAM_PATTERN_MAX + 1] = '\0';
    expect_pattern(long_pattern, false, "1 to 512 bytes");
}

static void test_names(void **state)
{
    char env[sizeof PARAM_ENV_PREFIX + PARAM_NAME_MAX];
    char n64[80], n65[80];
    (void)state;
    memset(n64, 'a', 64);
    n64[64] = '\0';
    memcpy(n65, n64, 64);
    n65[64] = 'a';
    n65[65] = '\0';
    assert_true(command_name_valid("deploy"));
    assert_true(command_name_valid("0-x.y_z"));
    assert_true(command_name_valid(n64));
    assert_false(command_name_valid(n65));
    assert_false(command_name_valid(""));
    assert_false(command_name_valid(NULL));
    assert_false(command_name_valid(".."));
    assert_false(command_name_valid("-x"));
    assert_false(command_name_valid("a/b"));
    assert_false(command_name_valid("a b"));
    assert_true(param_name_valid("_a1"));
    assert_true(param_name_valid(n64));
    assert_false(param_name_valid(n65));
    assert_false(param_name_valid("1a"));
    assert_false(param_name_valid("a-b"));
    assert_false(param_name_valid(""));
    params_env_name("host_Name9", env, sizeof env);
    assert_string_equal(env, "TETHER_PARAM_HOST_NAME9");
    params_env_name(n64, env, sizeof env);
    assert_int_equal(strlen(env), strlen(PARAM_ENV_PREFIX) + 64);
    assert_true(params_interpreter_known("perl"));
    assert_false(params_interpreter_known("zsh"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scan_finds_placeholders),
        cmocka_unit_test(test_scan_errors),
        cmocka_unit_test(test_scan_callback_stops),
        cmocka_unit_test(test_scan_character_before),
        cmocka_unit_test(test_scan_context),
        cmocka_unit_test(test_quote_forms),
        cmocka_unit_test(test_round_trip_sh),
        cmocka_unit_test(test_round_trip_bash),
        cmocka_unit_test(test_round_trip_python3),
        cmocka_unit_test(test_round_trip_perl),
        cmocka_unit_test(test_render),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_patterns),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
