package hostfixture

// Secret is a value planted in the fixture host where a real node would
// carry one; a redacting collector must not copy any of them.
type Secret struct {
	Shape string // what kind of secret
	Where string // where the fixture put it
	Value string
}

// The values carry "S3cret"/"S3CRET" so a leak is easy to spot in a dump.
const (
	secretConfigBearer = "cfgBearerS3cret001"
	secretArgvToken    = "argvTokenS3cret002"
	secretArgvPassword = "argvPassS3cret003"
	secretEnvPassword  = "envPassS3cret004"
	secretEnvJWT       = "eyJhbGciOiJSUzI1NiIsImtpZCI6IlMzY3JldCJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQifQ.sigS3cret005sig"
	secretURLPassword  = "urlPassS3cret006"
	secretLogBearer    = "logBearerS3cret007"
	secretKubecfgToken = "kubeconfigTokenS3cret008"
	secretClientKey    = "LS0tS3cret009keydata=="
	secretAWSKey       = "AKIAS3CRET0101234567"
	secretUnitEnv      = "unitEnvS3cret011"
	secretGitHub       = "ghp_S3cret012abcdefghijklmnopqrstuvwxyz0123"
	secretMetricsLabel = "labelS3cret013"
	secretProcEnv      = "procEnvS3cret014"
)

// EnvJavaToolOptions is the runtime setting the fixture's java process
// carries in its environment beside secretProcEnv.
const EnvJavaToolOptions = "-XX:MaxRAMPercentage=75.0"

// Secrets lists every planted secret.
func Secrets() []Secret {
	return []Secret{
		{"bearer header", "kubelet config staticPodURLHeader (config.yaml, /configz)", secretConfigBearer},
		{"--token= flag", "kubelet argv", secretArgvToken},
		{"--db-password VALUE", "a pod process's argv", secretArgvPassword},
		{"password env value", "pods.json env DB_PASSWORD", secretEnvPassword},
		{"JWT in env value", "pods.json env SA_TOKEN", secretEnvJWT},
		{"basic-auth URL", "pods.json env HTTP_PROXY", secretURLPassword},
		{"Authorization: Bearer", "kubelet log", secretLogBearer},
		{"kubeconfig token:", "kubelet log", secretKubecfgToken},
		{"client-key-data", "kubelet log", secretClientKey},
		{"AWS access key id", "kubelet log", secretAWSKey},
		{"Environment=API_TOKEN=", "systemd drop-in", secretUnitEnv},
		{"GitHub token", "kubelet log", secretGitHub},
		{"secret env label", "metrics/cadvisor container_env_* label", secretMetricsLabel},
		{"process environment variable", "/proc/<pid>/environ of a pod's java process", secretProcEnv},
	}
}
