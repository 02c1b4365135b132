package model

import "time"

// Job kinds.
const (
	JobInvite = "invite" // issue cards where needed and e-mail the enrolment links
)

// Job statuses.
const (
	JobRunning   = "running"
	JobDone      = "done"
	JobCancelled = "cancelled"
)

// Job item states. An item moves pending → claimed (its card is being
// prepared; nothing has been sent) → sending (the e-mail is being handed to
// the mail server) → sent or bounced. The other states are final.
const (
	ItemPending   = "pending"
	ItemClaimed   = "claimed"
	ItemSending   = "sending"
	ItemSent      = "sent"
	ItemBounced   = "bounced"   // the mail server refused the address at submission
	ItemNoEmail   = "no_email"  // the member has no address to write to
	ItemSkipped   = "skipped"   // not active, or already enrolled (detail says which)
	ItemFailed    = "failed"    // gave up after the attempts allowed; detail says why
	ItemUnknown   = "unknown"   // the worker stopped while sending and the mailer cannot say: never resent automatically
	ItemCancelled = "cancelled" // the job was cancelled before the item was claimed
)

// Job is one background request of HR, such as bulk invitations: its items
// are rows a worker claims, so a restart resumes it and two instances
// never work on one item.
type Job struct {
	ID         string     `db:"id" json:"id"`
	Kind       string     `db:"kind" json:"kind"`
	Status     string     `db:"status" json:"status"`
	Source     string     `db:"source" json:"source"`
	ActorType  string     `db:"actor_type" json:"-"`
	ActorID    string     `db:"actor_id" json:"-"`
	ActorName  string     `db:"actor_name" json:"created_by"`
	Total      int        `db:"total" json:"total"`
	CreatedAt  time.Time  `db:"created_at" json:"created_at"`
	FinishedAt *time.Time `db:"finished_at" json:"finished_at"`
}

// JobItem is one member of a job and what became of them.
type JobItem struct {
	ID         string     `db:"id" json:"-"`
	JobID      string     `db:"job_id" json:"-"`
	MemberID   string     `db:"member_id" json:"member_id"`
	Seq        int        `db:"seq" json:"position"` // 1… in the order the job was given; the items' cursor
	State      string     `db:"state" json:"state"`
	Attempts   int        `db:"attempts" json:"attempts"`
	LeaseOwner string     `db:"lease_owner" json:"-"`
	LeaseUntil *time.Time `db:"lease_until" json:"-"`
	CardID     string     `db:"card_id" json:"card_id,omitempty"`
	Detail     string     `db:"detail" json:"detail,omitempty"`
	UpdatedAt  time.Time  `db:"updated_at" json:"updated_at"`
}
