package model

import "time"

// JST is Japan time, in which perks' days and hours, daily and monthly
// limits, guest-pass quotas and reports are counted. Japan has kept UTC+9
// without daylight saving since 1951, so a fixed zone is exact and needs no
// time-zone database (the container image has none).
func JST() *time.Location { return time.FixedZone("JST", 9*3600) }
