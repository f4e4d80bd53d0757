package bulk

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// collidingSet hashes every account to the same value, so every row after the first is a
// suspect and the second pass decides them all.
func collidingSet() *accountSet {
	s := newAccountSet()
	s.hash = func(string) uint64 { return 42 }
	return s
}

// With every hash colliding, validation must find exactly what it finds with real hashes:
// the same duplicates (naming the first line), the same problems in line order, the same
// counts. This is what makes the compact first pass safe.
func TestCollisionsAreDecidedExactlyByTheSecondPass(t *testing.T) {
	files := map[string]string{
		"no duplicates":   "mail_account,password\ntaro,Atarashii-Pass-1!\nhanako,short\nghost,Atarashii-Pass-3!\n",
		"duplicates":      "mail_account,mail_capacity\ntaro,5\nhanako,7\nTARO@example.com,10\nhanako,x\nboss,5\ntaro,1\n",
		"problems around": "mail_account,mail_capacity\n,5\ntaro,5\nbad@other.example,5\ntaro,5\nhanako,3\n",
	}
	var many strings.Builder
	many.WriteString("mail_account,mail_capacity\n")
	for i := range 300 {
		fmt.Fprintf(&many, "user%d,5\n", i%120) // 180 duplicates: more than MaxProblems
	}
	files["many"] = many.String()
	for name, file := range files {
		for _, mode := range []string{"update", "create"} {
			want, err1 := validateWith(context.Background(), BytesSource([]byte(file)), rules(mode), newAccountSet())
			got, err2 := validateWith(context.Background(), BytesSource([]byte(file)), rules(mode), collidingSet())
			if err1 != nil || err2 != nil {
				t.Fatalf("%s %s: %v %v", name, mode, err1, err2)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s %s:\ncolliding %+v\nreal      %+v", name, mode, got, want)
			}
		}
	}
}

func TestADuplicateNamesTheFirstLine(t *testing.T) {
	res, err := Validate(context.Background(), BytesSource([]byte("mail_account,mail_capacity\ntaro,5\nhanako,5\n,5\nTaro@Example.com,5\n")), rules("update"))
	if err != nil {
		t.Fatal(err)
	}
	if codes(res) != "4:mail_account:required 5:mail_account:duplicate" || res.Problems[1].Message != "line 2" || res.ToApply != 2 {
		t.Fatalf("%s %+v", codes(res), res)
	}
}
