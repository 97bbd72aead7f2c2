// Package apikey is how Sieve keeps the keys of its HTTP servers (the
// proxy's clients, the review console's moderators): as the hex SHA-256 of
// the key, never the key.
package apikey

import (
	"crypto/sha256"
	"encoding/hex"
)

// Hash is the hex SHA-256 of key, as a config stores it
// (`printf %s KEY | sha256sum`).
func Hash(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}
