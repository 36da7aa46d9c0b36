// Package examples holds the example programs (dataplane, vending,
// sharedtable) and a test that builds each one as a user would, outside
// this repository.
package examples
