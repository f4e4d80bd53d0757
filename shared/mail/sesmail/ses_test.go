package sesmail

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ses"

	"github.com/kagiya/kagiya/shared/mail"
)

// EndpointEnv names an aws-ses-v2-local server (started by infra/test.sh).
const EndpointEnv = "KAGIYA_TEST_SES_ENDPOINT"

func TestSendThroughSES(t *testing.T) {
	endpoint := os.Getenv(EndpointEnv)
	if endpoint == "" {
		t.Skipf("%s is not set: no aws-ses-v2-local to send to (infra/test.sh starts one)", EndpointEnv)
	}
	client := ses.New(ses.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	tmpl, err := mail.LoadTemplates()
	if err != nil {
		t.Fatal(err)
	}
	stamp := time.Now().Format("150405.000000")
	link := "https://id.example.com/unlock.html?token=AbC-dEf_0123456789abcdefghijklmnopqrstuvwxy"
	cases := []struct {
		lang, subject, inText, inHTML string
		email                         mail.Email
	}{
		{"ja", "【Kagiya】パスワードが変更されました", "管理者によって行われました", `href="https://id.example.com/"`,
			&mail.PasswordChanged{When: "2026年4月1日 9:00", ByAdmin: true}},
		{"ja", "【Kagiya】アカウントがロックされました", link, `href="` + link + `"`,
			&mail.LockNotice{UnlockURL: link, ValidUntil: "2026年4月15日 9:00", Failures: 10}},
		{"en", "[Kagiya] Your account has been locked", "10 wrong passwords", `href="` + link + `"`,
			&mail.LockNotice{UnlockURL: link, ValidUntil: "15 April 2026 09:00 UTC", Failures: 10}},
		{"ja", "【Kagiya】パスワード再設定のご案内", "60 分間", "パスワードを再設定する",
			&mail.PasswordReset{ResetURL: link, Minutes: 60, ValidUntil: "10:00"}},
		{"en", "[Kagiya] You are invited to Acme Bcc: evil@example.com", "Hello hanako", "invited you to an account at Acme",
			&mail.Invitation{Tenant: "Acme\r\nBcc: evil@example.com", Inviter: "o@example.com", InviteURL: link, ValidUntil: "v"}},
	}
	sender := New(SendRawEmailFunc(client.SendRawEmail), "no-reply@example.com") // as the Lambda functions hold the client
	for i, c := range cases {
		to := fmt.Sprintf("hanako.%s.%d@example.com", stamp, i)
		msg, err := tmpl.Render(c.lang, mail.Recipient{LoginID: to, SiteURL: "https://id.example.com"}, c.email)
		if err != nil {
			t.Fatal(err)
		}
		if err := sender.Send(context.Background(), msg); err != nil {
			t.Fatal(err)
		}
		e := storedEmail(t, endpoint, to)
		if e.Subject != c.subject || e.From != "no-reply@example.com" || len(e.Destination.To) != 1 || !strings.Contains(e.Body.Text, c.inText) || !strings.Contains(e.Body.HTML, c.inHTML) {
			t.Errorf("%T.%s as stored by SES: %+v", c.email, c.lang, e)
		}
	}
}

type storedMail struct {
	From        string `json:"from"`
	Destination struct {
		To []string `json:"to"`
	} `json:"destination"`
	Subject string `json:"subject"`
	Body    struct {
		Text string `json:"text"`
		HTML string `json:"html"`
	} `json:"body"`
}

// storedEmail reads the message to one recipient back from aws-ses-v2-local's store.
func storedEmail(t *testing.T, endpoint, to string) storedMail {
	t.Helper()
	res, err := http.Get(strings.TrimRight(endpoint, "/") + "/store")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var store struct {
		Emails []storedMail `json:"emails"`
	}
	if err := json.NewDecoder(res.Body).Decode(&store); err != nil {
		t.Fatal(err)
	}
	for _, e := range store.Emails {
		if len(e.Destination.To) == 1 && e.Destination.To[0] == to {
			return e
		}
	}
	t.Fatalf("no email to %s in the SES store (%d emails)", to, len(store.Emails))
	return storedMail{}
}
