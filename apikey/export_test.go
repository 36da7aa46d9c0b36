package apikey

// Format builds a key from its parts, for tests that forge keys with a
// valid checksum.
var Format = format
