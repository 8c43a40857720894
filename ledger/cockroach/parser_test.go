package cockroach

import (
	"bufio"
	"fmt"
	"go/ast"
	goparser "go/parser"
	"go/token"
	"io/fs"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/cockroachdb-parser/pkg/sql/parser"
)

// bannedSQL lists constructs that one of the two databases does not accept
// (or accepts with different semantics), so the store must never use them.
var bannedSQL = []struct {
	name string
	re   *regexp.Regexp
}{
	{"SERIAL", regexp.MustCompile(`(?i)\b(small|big)?serial[248]?\b`)},
	{"CREATE TRIGGER", regexp.MustCompile(`(?i)\bcreate\s+(or\s+replace\s+)?(constraint\s+)?trigger\b`)},
	{"pg_advisory", regexp.MustCompile(`(?i)pg_(try_)?advisory`)},
}

// migrationStatement is one statement of a goose migration file.
type migrationStatement struct {
	where string // file, section and line, for messages
	sql   string
}

var gooseAnnotation = regexp.MustCompile(`^--\s*\+goose\s+(\S+)`)

// splitMigration splits a goose migration into its Up and Down statements.
// Statements end with ';' at the end of a line, except inside
// StatementBegin/StatementEnd blocks. Comment lines are dropped.
func splitMigration(name, text string) ([]migrationStatement, error) {
	var (
		out       []migrationStatement
		section   string // "", "Up" or "Down"
		block     bool   // inside StatementBegin/End
		cur       strings.Builder
		startLine int
	)
	flush := func() {
		if s := strings.TrimSpace(cur.String()); s != "" {
			out = append(out, migrationStatement{
				where: fmt.Sprintf("%s (%s, line %d)", name, section, startLine),
				sql:   s,
			})
		}
		cur.Reset()
	}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if m := gooseAnnotation.FindStringSubmatch(trimmed); m != nil {
			switch strings.ToLower(m[1]) {
			case "up", "down":
				if block {
					return nil, fmt.Errorf("%s:%d: +goose %s inside StatementBegin block", name, n, m[1])
				}
				if strings.TrimSpace(cur.String()) != "" {
					return nil, fmt.Errorf("%s:%d: unterminated statement before +goose %s", name, n, m[1])
				}
				section = strings.ToUpper(m[1][:1]) + strings.ToLower(m[1][1:])
			case "statementbegin":
				block = true
			case "statementend":
				block = false
				flush()
			}
			continue
		}
		if trimmed == "" || strings.HasPrefix(trimmed, "--") {
			continue
		}
		if section == "" {
			return nil, fmt.Errorf("%s:%d: SQL outside a +goose Up/Down section", name, n)
		}
		if strings.TrimSpace(cur.String()) == "" {
			startLine = n
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if !block && strings.HasSuffix(trimmed, ";") {
			flush()
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if block {
		return nil, fmt.Errorf("%s: unterminated StatementBegin block", name)
	}
	if strings.TrimSpace(cur.String()) != "" {
		return nil, fmt.Errorf("%s: unterminated statement at end of file", name)
	}
	return out, nil
}

// checkSQL parses sql with CockroachDB's parser and rejects banned constructs.
// It returns how many statements sql held.
func checkSQL(t *testing.T, where, sql string) int {
	t.Helper()
	stmts, err := parser.Parse(sql)
	if err != nil {
		t.Errorf("%s: CockroachDB parser rejects statement:\n%s\nerror: %v", where, sql, err)
		return 0
	}
	if len(stmts) == 0 {
		t.Errorf("%s: no statement in:\n%s", where, sql)
	}
	for _, b := range bannedSQL {
		if b.re.MatchString(sql) {
			t.Errorf("%s: statement uses banned construct %s:\n%s", where, b.name, sql)
		}
	}
	return len(stmts)
}

// TestCockroachParser parses every statement the store issues, and every
// statement of every migration, with CockroachDB's own SQL parser.
func TestCockroachParser(t *testing.T) {
	t.Run("statements", func(t *testing.T) {
		if len(statements) <= 10 {
			t.Fatalf("only %d statements listed; expected more than 10", len(statements))
		}
		for i, sql := range statements {
			if n := checkSQL(t, fmt.Sprintf("statements[%d]", i), sql); n > 1 {
				t.Errorf("statements[%d] holds %d statements, want 1:\n%s", i, n, sql)
			}
		}
		t.Logf("parsed %d store statements", len(statements))
	})

	t.Run("migrations", func(t *testing.T) {
		files, err := fs.Glob(migrations, "migrations/*.sql")
		if err != nil {
			t.Fatal(err)
		}
		if len(files) == 0 {
			t.Fatal("no embedded migration files")
		}
		total := 0
		for _, file := range files {
			data, err := fs.ReadFile(migrations, file)
			if err != nil {
				t.Fatal(err)
			}
			stmts, err := splitMigration(path.Base(file), string(data))
			if err != nil {
				t.Error(err)
				continue
			}
			var up, down int
			for _, s := range stmts {
				if strings.Contains(s.where, "(Up,") {
					up++
				} else {
					down++
				}
				if n := checkSQL(t, s.where, s.sql); n > 1 {
					t.Errorf("%s: split produced %d statements in one chunk:\n%s", s.where, n, s.sql)
				}
			}
			if up == 0 {
				t.Errorf("%s: no Up statements", file)
			}
			t.Logf("%s: parsed %d Up and %d Down statements", file, up, down)
			total += len(stmts)
		}
		if total <= 5 {
			t.Fatalf("only %d migration statements parsed; expected more than 5", total)
		}
	})
}

// TestBannedSQLPatterns checks that the banned-construct patterns catch what
// they are meant to, so the check above cannot silently rot.
func TestBannedSQLPatterns(t *testing.T) {
	for _, tc := range []struct {
		sql    string
		banned bool
	}{
		{"CREATE TABLE t (id SERIAL PRIMARY KEY)", true},
		{"CREATE TABLE t (id bigserial PRIMARY KEY)", true},
		{"CREATE TABLE t (id serial8 PRIMARY KEY)", true},
		{"CREATE TRIGGER t BEFORE INSERT ON x FOR EACH ROW EXECUTE FUNCTION f()", true},
		{"create or replace trigger t after update on x for each row execute function f()", true},
		{"SELECT pg_advisory_xact_lock(1)", true},
		{"SELECT pg_try_advisory_lock(1)", true},
		{"CREATE TABLE t (serial_number TEXT PRIMARY KEY)", false},
		{"SELECT 1", false},
	} {
		got := false
		for _, b := range bannedSQL {
			if b.re.MatchString(tc.sql) {
				got = true
			}
		}
		if got != tc.banned {
			t.Errorf("banned(%q) = %v, want %v", tc.sql, got, tc.banned)
		}
	}
}

// TestEveryStatementIsListed reads the package's source: every
// package-level constant or variable whose name starts with "sql" must be
// registered in statements (which TestCockroachParser parses), and no call
// may send SQL written in place, so that a statement added without its
// registration fails here instead of escaping the parser.
func TestEveryStatementIsListed(t *testing.T) {
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	declared := map[string]token.Position{}
	registered := map[string]bool{}
	register := func(e ast.Expr) {
		switch e := e.(type) {
		case *ast.Ident:
			registered[e.Name] = true
		case *ast.SelectorExpr: // c.SQL of a table of statements
			registered["."+e.Sel.Name] = true
		}
	}
	sqlWords := regexp.MustCompile(`(?i)^\s*(select|insert|update|delete|with|create|alter|drop|grant|revoke|set)\s+\S`)
	for _, name := range files {
		// triggers.go holds the statements that only PostgreSQL runs
		// (migration 31), which the CockroachDB parser cannot take.
		if strings.HasSuffix(name, "_test.go") || name == "triggers.go" {
			continue
		}
		f, err := goparser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || (gd.Tok != token.CONST && gd.Tok != token.VAR) {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, id := range vs.Names {
					if strings.HasPrefix(id.Name, "sql") && i < len(vs.Values) {
						declared[id.Name] = fset.Position(id.Pos())
					}
					if id.Name == "statements" && i < len(vs.Values) {
						if lit, ok := vs.Values[i].(*ast.CompositeLit); ok {
							for _, e := range lit.Elts {
								register(e)
							}
						}
					}
				}
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			if fn, ok := call.Fun.(*ast.Ident); ok && fn.Name == "append" && len(call.Args) > 0 {
				if dst, ok := call.Args[0].(*ast.Ident); ok && dst.Name == "statements" {
					for _, a := range call.Args[1:] {
						register(a)
					}
				}
			}
			for _, a := range call.Args {
				if lit, ok := a.(*ast.BasicLit); ok && lit.Kind == token.STRING {
					if s, _ := strconv.Unquote(lit.Value); sqlWords.MatchString(s) && !strings.Contains(s, "%w") {
						t.Errorf("%s: SQL written in place; declare it as a sql constant and register it in statements",
							fset.Position(lit.Pos()))
					}
				}
			}
			return true
		})
	}
	if len(declared) < 50 {
		t.Fatalf("found %d sql declarations: the parse is wrong", len(declared))
	}
	for name, pos := range declared {
		if !registered[name] {
			t.Errorf("%s: %s is not registered in statements", pos, name)
		}
	}
}
