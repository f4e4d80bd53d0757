package sesmail

import (
	"context"
	"encoding/json"
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
	to := "hanako." + time.Now().Format("150405.000000") + "@example.com"
	msg, err := tmpl.Render("password_changed", "ja", to, map[string]any{
		"LoginID": to, "When": "2026年4月1日 9:00", "SiteURL": "https://id.example.com", "ByAdmin": true})
	if err != nil {
		t.Fatal(err)
	}
	if err := New(client, "no-reply@example.com").Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}

	res, err := http.Get(strings.TrimRight(endpoint, "/") + "/store")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var store struct {
		Emails []struct {
			From        string `json:"from"`
			Destination struct {
				To []string `json:"to"`
			} `json:"destination"`
			Subject string `json:"subject"`
			Body    struct {
				Text string `json:"text"`
				HTML string `json:"html"`
			} `json:"body"`
		} `json:"emails"`
	}
	if err := json.NewDecoder(res.Body).Decode(&store); err != nil {
		t.Fatal(err)
	}
	for _, e := range store.Emails {
		if len(e.Destination.To) == 1 && e.Destination.To[0] == to {
			if e.Subject != "【Kagiya】パスワードが変更されました" || e.From != "no-reply@example.com" ||
				!strings.Contains(e.Body.Text, "管理者によって行われました") || !strings.Contains(e.Body.HTML, `href="https://id.example.com/"`) {
				t.Fatalf("stored email differs: %+v", e)
			}
			return
		}
	}
	t.Fatalf("no email to %s in the SES store (%d emails)", to, len(store.Emails))
}
