// Package grpcmw holds tests of tenantkit against the libraries its users
// combine it with; they live in their own module so that those libraries
// never enter the module graph of a tenantkit user.
package grpcmw
