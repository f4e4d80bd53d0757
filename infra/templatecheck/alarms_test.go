package templatecheck

import (
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// published lists, for each metric an alarm of the template watches, the dimension sets
// the service publishes it under (an alarm on any other set watches a series that never
// has data, and never fires). From the services' documentation:
//   - AWS/Lambda: https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html
//     (Errors, Throttles; by FunctionName, FunctionName+Resource, FunctionName+ExecutedVersion,
//     or none)
//   - AWS/ApiGateway, HTTP APIs: https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-metrics.html
//     (4xx, 5xx, Count, Latency, IntegrationLatency, DataProcessed; by ApiId, ApiId+Stage,
//     or ApiId+Method+Resource+Stage with detailed metrics)
//   - AWS/DynamoDB: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/metrics-dimensions.html
//     (ThrottledRequests only by TableName+Operation; ReadThrottleEvents and
//     WriteThrottleEvents by TableName or TableName+GlobalSecondaryIndexName)
//   - AWS/SQS: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html
//     (by QueueName)
//   - AWS/SES: https://docs.aws.amazon.com/ses/latest/dg/reputation-dashboard-dg.html
//     (Reputation.BounceRate and Reputation.ComplaintRate for the account: no dimensions)
//
// Metrics in the Kagiya namespace are the template's own metric filters', checked
// against those filters below.
var published = map[string]map[string][][]string{
	"AWS/Lambda": {
		"Errors":    {{}, {"FunctionName"}, {"FunctionName", "Resource"}, {"FunctionName", "ExecutedVersion"}},
		"Throttles": {{}, {"FunctionName"}, {"FunctionName", "Resource"}, {"FunctionName", "ExecutedVersion"}},
	},
	"AWS/ApiGateway": {
		"4xx": {{"ApiId"}, {"ApiId", "Stage"}, {"ApiId", "Method", "Resource", "Stage"}},
		"5xx": {{"ApiId"}, {"ApiId", "Stage"}, {"ApiId", "Method", "Resource", "Stage"}},
	},
	"AWS/DynamoDB": {
		"ThrottledRequests":   {{"Operation", "TableName"}},
		"ReadThrottleEvents":  {{"TableName"}, {"GlobalSecondaryIndexName", "TableName"}},
		"WriteThrottleEvents": {{"TableName"}, {"GlobalSecondaryIndexName", "TableName"}},
	},
	"AWS/SQS": {
		"ApproximateNumberOfMessagesVisible": {{"QueueName"}},
		"NumberOfMessagesSent":               {{"QueueName"}},
	},
	"AWS/SES": {
		"Reputation.BounceRate":    {{}},
		"Reputation.ComplaintRate": {{}},
	},
}

// valueOf is what a value refers to: the intrinsic's tag and its argument (!Ref
// LoginFunction: "!Ref", "LoginFunction"), or a list's items (!If [c, a, b]).
type valueOf struct {
	Tag, Arg string
	Items    []valueOf
}

func (v *valueOf) UnmarshalYAML(n *yaml.Node) error {
	v.Tag, v.Arg = n.Tag, n.Value
	if n.Kind == yaml.SequenceNode {
		return n.Decode(&v.Items)
	}
	return nil
}

// isTableName reports whether v is the table's name: the stack's own table, or the
// restored one named by ExternalTable (docs/operations.md).
func isTableName(v valueOf) bool {
	return v.Tag == "!If" && len(v.Items) == 3 && v.Items[0].Arg == "OwnTable" &&
		v.Items[1].Tag == "!Ref" && v.Items[1].Arg == "Table" && v.Items[2].Tag == "!Ref" && v.Items[2].Arg == "ExternalTable"
}

type metric struct {
	Namespace  string `yaml:"Namespace"`
	MetricName string `yaml:"MetricName"`
	Dimensions []struct {
		Name  string  `yaml:"Name"`
		Value valueOf `yaml:"Value"`
	} `yaml:"Dimensions"`
}

// TestAlarmsWatchPublishedMetrics holds every alarm (a single metric, or each metric of
// a metric-math alarm) to a namespace, metric and dimension set the service publishes,
// and each dimension's value to a resource of the kind it names.
func TestAlarmsWatchPublishedMetrics(t *testing.T) {
	var doc struct {
		Resources map[string]struct {
			Type       string `yaml:"Type"`
			Properties struct {
				metric  `yaml:",inline"`
				Metrics []struct {
					MetricStat *struct {
						Metric metric `yaml:"Metric"`
					} `yaml:"MetricStat"`
				} `yaml:"Metrics"`
				MetricTransformations []struct {
					MetricNamespace string         `yaml:"MetricNamespace"`
					MetricName      string         `yaml:"MetricName"`
					Dimensions      map[string]any `yaml:"Dimensions"`
				} `yaml:"MetricTransformations"`
			} `yaml:"Properties"`
		} `yaml:"Resources"`
	}
	decodeTemplate(t, &doc)
	// The Kagiya namespace: what the metric filters publish, without dimensions.
	own := map[string]bool{}
	for _, r := range doc.Resources {
		if r.Type != "AWS::Logs::MetricFilter" {
			continue
		}
		for _, m := range r.Properties.MetricTransformations {
			if m.MetricNamespace == "Kagiya" && len(m.Dimensions) == 0 {
				own[m.MetricName] = true
			}
		}
	}
	// A dimension's value must name a resource of its kind.
	refersTo := map[string]func(v valueOf) bool{
		"FunctionName": func(v valueOf) bool {
			return v.Tag == "!Ref" && doc.Resources[v.Arg].Type == "AWS::Serverless::Function"
		},
		"ApiId": func(v valueOf) bool {
			return v.Tag == "!Ref" && doc.Resources[v.Arg].Type == "AWS::Serverless::HttpApi"
		},
		"TableName": isTableName,
		"QueueName": func(v valueOf) bool {
			res, attr, _ := strings.Cut(v.Arg, ".")
			return v.Tag == "!GetAtt" && attr == "QueueName" && doc.Resources[res].Type == "AWS::SQS::Queue"
		},
		"Operation": func(v valueOf) bool {
			return slices.Contains([]string{"GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "TransactWriteItems"}, v.Arg)
		},
	}
	alarms := 0
	for name, r := range doc.Resources {
		if r.Type != "AWS::CloudWatch::Alarm" {
			continue
		}
		alarms++
		watched := []metric{}
		if r.Properties.MetricName != "" {
			watched = append(watched, r.Properties.metric)
		}
		for _, m := range r.Properties.Metrics {
			if m.MetricStat != nil {
				watched = append(watched, m.MetricStat.Metric)
			}
		}
		if len(watched) == 0 {
			t.Errorf("%s: watches no metric", name)
		}
		for _, m := range watched {
			var dims []string
			for _, d := range m.Dimensions {
				dims = append(dims, d.Name)
				if check, ok := refersTo[d.Name]; !ok || !check(d.Value) {
					t.Errorf("%s: dimension %s = %s %s, not a resource of that kind", name, d.Name, d.Value.Tag, d.Value.Arg)
				}
			}
			slices.Sort(dims)
			if m.Namespace == "Kagiya" {
				if !own[m.MetricName] || len(dims) != 0 {
					t.Errorf("%s: Kagiya/%s %v is not what a metric filter of the template publishes", name, m.MetricName, dims)
				}
				continue
			}
			sets, ok := published[m.Namespace][m.MetricName]
			if !ok {
				t.Errorf("%s: %s/%s is not in this test's table of published metrics", name, m.Namespace, m.MetricName)
				continue
			}
			if !slices.ContainsFunc(sets, func(set []string) bool { return slices.Equal(set, dims) || len(set) == 0 && len(dims) == 0 }) {
				t.Errorf("%s: %s/%s by %v; the service publishes it by %v", name, m.Namespace, m.MetricName, dims, sets)
			}
		}
	}
	if alarms == 0 {
		t.Fatal("no alarms in the template")
	}
}

// Every function's failures reach an alarm: a function behind the HTTP API fails as a
// 5xx of the API (Api5xxAlarm, from the first one), the others each have an Errors
// alarm of their own; and throttling, which comes from the account's one concurrency
// pool, has one alarm on Lambda's account-wide Throttles.
func TestAlarmsCoverEveryFunction(t *testing.T) {
	var doc struct {
		Resources map[string]struct {
			Type       string `yaml:"Type"`
			Properties struct {
				metric    `yaml:",inline"`
				Threshold float64 `yaml:"Threshold"`
				Events    map[string]struct {
					Type string `yaml:"Type"`
				} `yaml:"Events"`
			} `yaml:"Properties"`
		} `yaml:"Resources"`
	}
	decodeTemplate(t, &doc)
	errorsOf := map[string]bool{}
	api5xx, throttles := false, false
	for _, r := range doc.Resources {
		p := r.Properties
		if r.Type != "AWS::CloudWatch::Alarm" || p.Threshold > 1 {
			continue
		}
		switch {
		case p.Namespace == "AWS/Lambda" && p.MetricName == "Errors" && len(p.Dimensions) == 1 && p.Dimensions[0].Value.Tag == "!Ref":
			errorsOf[p.Dimensions[0].Value.Arg] = true
		case p.Namespace == "AWS/ApiGateway" && p.MetricName == "5xx" && len(p.Dimensions) == 1 && p.Dimensions[0].Value.Arg == "HttpApi":
			api5xx = true
		case p.Namespace == "AWS/Lambda" && p.MetricName == "Throttles" && len(p.Dimensions) == 0:
			throttles = true
		}
	}
	if !throttles {
		t.Error("no alarm on Lambda's account-wide Throttles (from the first one)")
	}
	for name, r := range doc.Resources {
		if r.Type != "AWS::Serverless::Function" {
			continue
		}
		behindAPI := false
		for _, e := range r.Properties.Events {
			behindAPI = behindAPI || e.Type == "HttpApi"
		}
		if behindAPI && !api5xx {
			t.Errorf("%s is behind the API, which has no 5xx alarm from the first one", name)
		}
		if !behindAPI && !errorsOf[name] {
			t.Errorf("%s is not behind the API and has no Errors alarm of its own (from the first one)", name)
		}
	}
}
