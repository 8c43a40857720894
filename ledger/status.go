package ledger

import "strings"

// SetAccountStatusRequest freezes, closes or reactivates an account. Reason
// says why, for the journal, which records the change with its actor.
type SetAccountStatusRequest struct {
	RequestID string
	AccountID string
	Status    Status
	Reason    string
}

// Validate reports every invalid field of r.
func (r SetAccountStatusRequest) Validate() error {
	var v violations
	checkID(&v, "request_id", r.RequestID, true)
	checkID(&v, "account_id", r.AccountID, true)
	if strings.HasPrefix(r.AccountID, systemPrefix) {
		v.add("account_id", "must not be one of the ledger's own accounts, which are always active")
	}
	if r.Status != StatusActive && r.Status != StatusFrozen && r.Status != StatusClosed {
		v.add("status", "must be ACTIVE, FROZEN or CLOSED")
	}
	if r.Reason == "" {
		v.add("reason", "is required")
	}
	checkText(&v, "reason", r.Reason)
	return v.err()
}

// Fingerprint returns the SHA-256 of r's content.
func (r SetAccountStatusRequest) Fingerprint() []byte {
	return fingerprint("set_account_status", r.AccountID, r.Status.String(), r.Reason)
}

// CheckStatusChange returns an error if an account of status from may not
// be given status to: a closed account stays closed.
func CheckStatusChange(accountID string, from, to Status) error {
	if from == StatusClosed && to != StatusClosed {
		return Errorf(CodeAccountClosed, "account %s is closed: it cannot become %s", accountID, to)
	}
	return nil
}
