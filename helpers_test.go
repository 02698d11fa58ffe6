package netfox_test

import (
	"errors"
	"time"

	"github.com/netfox/netfox"
)

func sleepBriefly() { time.Sleep(5 * time.Millisecond) }

func asStatus(err error, target **netfox.StatusError) bool { return errors.As(err, target) }
