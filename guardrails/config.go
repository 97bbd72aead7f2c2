package guardrails

// Config is the guardrails section of sieve.yaml: the rails policy file
// whose input rails run on every message. `sieve run` reloads it on SIGHUP.
type Config struct {
	Policy string `yaml:"policy"` // path of a rails policy file (see Rails policy below); empty: no rails in sieve run
}
