package main

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"
)

// docs/cost.md is what the program writes from the committed inputs and prices.
func TestCostDocIsGenerated(t *testing.T) {
	var in inputs
	var pr prices
	if err := json.Unmarshal(inputsJSON, &in); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(pricesJSON, &pr); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	write(&b, in, pr)
	doc, err := os.ReadFile("../../docs/cost.md")
	if err != nil || !bytes.Equal(doc, b.Bytes()) {
		t.Fatalf("docs/cost.md is out of date (%v): go run ./infra/cost > docs/cost.md", err)
	}
	if p := pr.Regions["us-east-1"]; p.DynamoWrite == 0 || p.CloudFront10k == 0 || p.HTTPAPI == 0 {
		t.Fatalf("prices not read: %+v", p)
	}
}
