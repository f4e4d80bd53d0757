package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// bulkUpload starts a job as the administrator call, uploads file to it as a browser
// would, and waits for the job to end.
func bulkUpload(t *testing.T, call func(method, path string, body any) *http.Response, mode string, file []byte) map[string]any {
	t.Helper()
	return bulkUploadWith(t, call, map[string]any{"mode": mode}, file, 200)
}

// bulkUploadWith is bulkUpload with more of the start request's fields and how many
// times (50 ms apart) to look at the job before giving up.
func bulkUploadWith(t *testing.T, call func(method, path string, body any) *http.Response, start map[string]any, file []byte, looks int) map[string]any {
	t.Helper()
	body := map[string]any{"filename": "accounts.csv", "size": len(file), "confirm_password": "Kagi-2026-Tokyo!"}
	for k, v := range start {
		body[k] = v
	}
	res := call("POST", "/api/admin/bulk", body)
	var up struct {
		JobID   string            `json:"job_id"`
		URL     string            `json:"upload_url"`
		Headers map[string]string `json:"upload_headers"`
	}
	json.NewDecoder(res.Body).Decode(&up)
	res.Body.Close()
	if res.StatusCode != 201 {
		t.Fatalf("start: %d", res.StatusCode)
	}
	req, _ := http.NewRequest("PUT", up.URL, bytes.NewReader(file))
	for k, v := range up.Headers {
		req.Header.Set(k, v)
	}
	put, err := http.DefaultClient.Do(req)
	if err != nil || put.StatusCode != 200 {
		t.Fatalf("upload: %v %v", put, err)
	}
	put.Body.Close()
	for range looks {
		res := call("GET", "/api/admin/bulk/"+up.JobID, nil)
		var job map[string]any
		json.NewDecoder(res.Body).Decode(&job)
		res.Body.Close()
		if s := job["state"]; s == "succeeded" || s == "rejected" || s == "failed" {
			return job
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("the job did not end")
	return nil
}

// The accounts export is an update file as it is: uploaded again it changes nothing;
// edited in a spreadsheet (a role, a comment, a capacity), it changes just that.
func TestExportEditUpload(t *testing.T) {
	t.Parallel()
	base := startServer(t)
	for _, id := range []string{"aoi@example.com", "ren@example.com", "=sum@example.com"} {
		createUser(t, base, id, "Fuji-Passw0rd-26!")
	}
	owner := apiAs(t, base, "owner@example.com", "Kagi-2026-Tokyo!")
	res := owner("PATCH", "/api/admin/accounts/ren@example.com", map[string]any{"comment": "=営業部 (Tokyo)", "quota_gb": 5})
	res.Body.Close()
	res = owner("GET", "/api/admin/accounts/export.csv", nil)
	export, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !bytes.Contains(export, []byte("'=営業部 (Tokyo)")) {
		t.Fatalf("export: %d\n%s", res.StatusCode, export)
	}
	if job := bulkUpload(t, owner, "update", export); job["state"] != "succeeded" || job["updated"] != 0.0 {
		t.Fatalf("the export uploaded as it is: %v", job)
	}
	// Its words (role, states, login method) in English change nothing either.
	res = owner("GET", "/api/admin/accounts/export.csv?lang=en", nil)
	english, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !bytes.Contains(english, []byte(",User,Active,Password")) {
		t.Fatalf("export in English: %d\n%s", res.StatusCode, english)
	}
	if job := bulkUpload(t, owner, "update", english); job["state"] != "succeeded" || job["updated"] != 0.0 {
		t.Fatalf("the English export uploaded as it is: %v", job)
	}
	edited := strings.Replace(string(export), "aoi@example.com,user,0,", "aoi@example.com,admin,10,", 1)
	edited = strings.Replace(edited, "'=営業部 (Tokyo)", "経理部", 1)
	if edited == string(export) || strings.Count(edited, "admin,10,") != 1 {
		t.Fatalf("the edit did not apply to the file:\n%s", export)
	}
	if job := bulkUpload(t, owner, "update", []byte(edited)); job["state"] != "succeeded" || job["updated"] != 2.0 {
		t.Fatalf("the edited export: %v", job)
	}
	res = owner("GET", "/api/admin/accounts?q=example.com&limit=50", nil)
	var list struct {
		Accounts []struct {
			LoginID string `json:"login_id"`
			Role    string `json:"role"`
			QuotaGB int    `json:"quota_gb"`
			Comment string `json:"comment"`
		} `json:"accounts"`
	}
	json.NewDecoder(res.Body).Decode(&list)
	res.Body.Close()
	got := map[string]string{}
	for _, a := range list.Accounts {
		got[a.LoginID] = a.Role + " " + a.Comment
		if a.LoginID == "aoi@example.com" && a.QuotaGB != 10 {
			t.Fatalf("capacity: %d", a.QuotaGB)
		}
	}
	if got["aoi@example.com"] != "admin " || got["ren@example.com"] != "user 経理部" || got["=sum@example.com"] != "user " {
		t.Fatalf("after the upload: %v", got)
	}
}

// A job larger than one part fans out on the local server's pool, as in AWS: 501
// invitations in two parts, every one created once.
func TestALargeJobFansOutLocally(t *testing.T) {
	base := startServer(t)
	owner := apiAs(t, base, "owner@example.com", "Kagi-2026-Tokyo!")
	var file strings.Builder
	file.WriteString("login_id\n")
	for i := range 501 {
		fmt.Fprintf(&file, "invitee%04d@example.com\n", i)
	}
	job := bulkUploadWith(t, owner, map[string]any{"mode": "create", "invite": true}, []byte(file.String()), 6000)
	if job["state"] != "succeeded" || job["created"] != 501.0 || job["invited"] != 501.0 || job["chunks"] != 2.0 || job["chunks_done"] != 2.0 {
		t.Fatalf("job %v", job)
	}
	res := owner("GET", "/api/admin/accounts?q=invitee&limit=1", nil)
	var list struct {
		Total int `json:"total"`
	}
	json.NewDecoder(res.Body).Decode(&list)
	res.Body.Close()
	if list.Total != 501 {
		t.Fatalf("%d invitees listed", list.Total)
	}
}
