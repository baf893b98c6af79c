// Package guard turns panics into errors. GoMLX reports graph-building and
// execution errors by panicking; cotrain converts them at package
// boundaries so that callers see ordinary errors.
package guard

import (
	"errors"
	"fmt"
)

// Run runs fn and returns the value of a panic raised inside it as an
// error (nil when fn returns normally).
func Run(fn func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			switch e := r.(type) {
			case error:
				err = e
			case string:
				err = errors.New(e)
			default:
				err = fmt.Errorf("%v", e)
			}
		}
	}()
	fn()
	return nil
}
