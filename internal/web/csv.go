package web

import (
	"time"

	"github.com/alumnipass/alumnipass/internal/model"
)

// jst is model.JST, short for the many dates the pages print.
func jst() *time.Location { return model.JST() }
