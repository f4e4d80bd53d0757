package dynamostore

// Every key string of the single table is built here and nowhere else.
//
//	item      PK                  SK
//	tenant    TENANT#<id>         #TENANT
//	account   TENANT#<id>         ACCOUNT#<account id>
//	history   TENANT#<id>         HISTORY#<account id>
//	recovery  TENANT#<id>         RECOVERY#<account id>  (hashes of unused recovery codes)
//	count     TENANT#<id>         #ACCOUNTS     (how many accounts the tenant has)
//	login ID  LOGIN#<login key>   #LOGIN        (deployment-wide uniqueness; points at the account)
//	domain    DOMAIN#<domain>     #DOMAIN       (a verified domain: held by one tenant)
//	session   SESSION#<account id> <hash>       (an account's sessions are one Query)
//	token     TOKEN#<hash>        #TOKEN
//	audit     AUDIT#<tenant>      <time>#<random>
//	counter   HIT#<key>           #HIT
//	bulk job  TENANT#<id>         JOB#<id>
//	secret    SECRET#<name>       #SECRET        (server secrets made on first use)
//	credential CRED#<kind>#<owner> <id>          (an owner's credentials of a kind are one Query)
//	passkey   PASSKEY#<account id> <passkey id>  (an account's passkeys are one Query)
//	schema    SCHEMA              #SCHEMA       (the items' schema version; none: version 1)
const (
	attrPK      = "PK"
	attrSK      = "SK"
	attrExpires = "expires_at" // the table's TTL attribute (epoch seconds)

	skTenant      = "#TENANT"
	skHit         = "#HIT"
	accountPrefix = "ACCOUNT#"
)

func tenantPK(id string) string          { return "TENANT#" + id }
func accountSK(accountID string) string  { return accountPrefix + accountID }
func historySK(accountID string) string  { return "HISTORY#" + accountID }
func recoverySK(accountID string) string { return "RECOVERY#" + accountID }
func loginPK(loginKey string) string     { return "LOGIN#" + loginKey }

const skLogin = "#LOGIN"

const skDomain = "#DOMAIN"

func domainPK(domain string) string { return "DOMAIN#" + domain }

const skAccountCount = "#ACCOUNTS"

const skSecret = "#SECRET"

func secretPK(name string) string { return "SECRET#" + name }

func sessionPK(accountID string) string { return "SESSION#" + accountID }
func auditPK(tenantID string) string    { return "AUDIT#" + tenantID }
func hitPK(key string) string           { return "HIT#" + key }

const skToken = "#TOKEN"

func tokenPK(idHash string) string { return "TOKEN#" + idHash }

const jobPrefix = "JOB#"

func jobSK(id string) string { return jobPrefix + id }

func credPK(kind, owner string) string { return "CRED#" + kind + "#" + owner }

func passkeyPK(accountID string) string { return "PASSKEY#" + accountID }

const (
	pkSchema = "SCHEMA"
	skSchema = "#SCHEMA"
)
