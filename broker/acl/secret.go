package acl

// SecretKey returns the secret key of an account, for a front end (the gRPC endpoint)
// that verifies its own clients' signatures and then signs the requests it relays as
// that account.
func (r *Rules) SecretKey(accessKey string) (string, bool) {
	if r == nil {
		return "", false
	}
	a, ok := r.accounts[accessKey]
	if !ok {
		return "", false
	}
	return a.secretKey, true
}
