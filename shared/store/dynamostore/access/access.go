// Package access says what each method of dynamostore.Store asks of DynamoDB, as IAM
// sees it, so that the template's rights can be held to what a function's code calls
// (infra/templatecheck). dynamostore's TestTableAccessIsDeclared runs the whole store
// contract on minidyn and requires this table to equal what each method did. No
// function links this package.
package access

// ByMethod maps each method of dynamostore.Store to the table calls it makes: "Action
// KIND", where Action is the IAM action (each item of a transaction under its own
// action) and KIND is the partition key value's kind that dynamodb:LeadingKeys sees: its
// text up to the first "#" ("TENANT#"), "SCHEMA", or "ten_" for a query of an index
// whose partition is a tenant ID.
var ByMethod = map[string][]string{
	"AddPasskey":                {"dynamodb:PutItem PASSKEY#", "dynamodb:PutItem TENANT#"},
	"GetPasskeyEventually":      {"dynamodb:GetItem PASSKEY#"},
	"ListPasskeys":              {"dynamodb:Query PASSKEY#"},
	"RemovePasskeys":            {"dynamodb:DeleteItem PASSKEY#", "dynamodb:PutItem TENANT#"},
	"RenamePasskey":             {"dynamodb:UpdateItem PASSKEY#"},
	"UsePasskey":                {"dynamodb:GetItem PASSKEY#", "dynamodb:UpdateItem PASSKEY#"},
	"ClaimMail":                 {"dynamodb:GetItem MAIL#", "dynamodb:PutItem MAIL#"},
	"CountNotified":             {"dynamodb:UpdateItem TENANT#"},
	"MarkMailSent":              {"dynamodb:PutItem MAIL#"},
	"ReleaseMail":               {"dynamodb:DeleteItem MAIL#"},
	"AppendAudit":               {"dynamodb:PutItem AUDIT#"},
	"ChangeLoginID":             {"dynamodb:DeleteItem LOGIN#", "dynamodb:GetItem TENANT#", "dynamodb:PutItem LOGIN#", "dynamodb:PutItem TENANT#"},
	"ClaimDomain":               {"dynamodb:GetItem TENANT#", "dynamodb:PutItem DOMAIN#", "dynamodb:PutItem TENANT#"},
	"ConsumeToken":              {"dynamodb:DeleteItem TOKEN#"},
	"CreateAccount":             {"dynamodb:PutItem LOGIN#", "dynamodb:PutItem TENANT#", "dynamodb:UpdateItem TENANT#"},
	"CreateCredential":          {"dynamodb:PutItem CRED#"},
	"CreateJob":                 {"dynamodb:PutItem TENANT#"},
	"CreateSession":             {"dynamodb:PutItem SESSION#"},
	"CreateTenant":              {"dynamodb:PutItem LOGIN#", "dynamodb:PutItem TENANT#", "dynamodb:UpdateItem TENANT#"},
	"CreateToken":               {"dynamodb:PutItem TOKEN#"},
	"DeleteAccount":             {"dynamodb:DeleteItem LOGIN#", "dynamodb:DeleteItem PASSKEY#", "dynamodb:DeleteItem TENANT#", "dynamodb:GetItem TENANT#", "dynamodb:Query PASSKEY#", "dynamodb:UpdateItem TENANT#"},
	"DeleteCredential":          {"dynamodb:DeleteItem CRED#"},
	"DeleteSession":             {"dynamodb:DeleteItem SESSION#"},
	"DomainHolder":              {"dynamodb:GetItem DOMAIN#"},
	"GetAccount":                {"dynamodb:GetItem TENANT#"},
	"GetAccountEventually":      {"dynamodb:GetItem TENANT#"},
	"GetCredential":             {"dynamodb:GetItem CRED#"},
	"GetHistory":                {"dynamodb:GetItem TENANT#"},
	"GetJob":                    {"dynamodb:GetItem TENANT#"},
	"GetSession":                {"dynamodb:GetItem SESSION#"},
	"GetTenant":                 {"dynamodb:GetItem TENANT#"},
	"Hit":                       {"dynamodb:UpdateItem HIT#"},
	"ListAccounts":              {"dynamodb:GetItem TENANT#", "dynamodb:Query ten_"},
	"ListAudit":                 {"dynamodb:Query AUDIT#"},
	"ListCredentials":           {"dynamodb:Query CRED#"},
	"ListCredentialsEventually": {"dynamodb:Query CRED#"},
	"ListJobs":                  {"dynamodb:Query TENANT#"},
	"ListSessions":              {"dynamodb:Query SESSION#"},
	"Lock":                      {"dynamodb:GetItem TENANT#", "dynamodb:UpdateItem TENANT#"},
	"LookupLogin":               {"dynamodb:GetItem LOGIN#"},
	"PeekToken":                 {"dynamodb:GetItem TOKEN#"},
	"PutHistory":                {"dynamodb:PutItem TENANT#"},
	"PutRecoveryCodes":          {"dynamodb:DeleteItem TENANT#", "dynamodb:PutItem TENANT#"},
	"RaiseSchemaVersion":        {"dynamodb:PutItem SCHEMA"},
	"RecordDeviceLogin":         {"dynamodb:UpdateItem TENANT#"},
	"RecordLogin":               {"dynamodb:UpdateItem TENANT#"},
	"RecoveryCodes":             {"dynamodb:GetItem TENANT#"},
	"ReleaseAttempt":            {"dynamodb:UpdateItem TENANT#"},
	"ReleaseDomains":            {"dynamodb:DeleteItem DOMAIN#", "dynamodb:GetItem DOMAIN#", "dynamodb:PutItem TENANT#"},
	"ReserveAttempt":            {"dynamodb:UpdateItem TENANT#"},
	"ReserveDeviceAttempt":      {"dynamodb:UpdateItem TENANT#"},
	"SchemaVersion":             {"dynamodb:GetItem SCHEMA"},
	"Secret":                    {"dynamodb:GetItem SECRET#", "dynamodb:PutItem SECRET#"},
	"TouchCredential":           {"dynamodb:UpdateItem CRED#"},
	"TouchSession":              {"dynamodb:UpdateItem SESSION#"},
	"Unlock":                    {"dynamodb:GetItem TENANT#", "dynamodb:PutItem TENANT#"},
	"UpdateAccount":             {"dynamodb:GetItem TENANT#", "dynamodb:PutItem TENANT#"},
	"UpdateJob":                 {"dynamodb:GetItem TENANT#", "dynamodb:UpdateItem TENANT#"},
	"UpdateTenant":              {"dynamodb:PutItem TENANT#"},
	"UseRecoveryCode":           {"dynamodb:DeleteItem TENANT#", "dynamodb:GetItem TENANT#", "dynamodb:UpdateItem TENANT#"},
}
