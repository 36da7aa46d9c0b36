package emf

import "errors"

// ErrInvalidOption is wrapped by the error [New] returns for an invalid
// option, namespace or writer; the message names it.
var ErrInvalidOption = errors.New("emf: invalid option")

// ErrShutdown is returned by Export, ForceFlush and Shutdown after
// Shutdown.
var ErrShutdown = errors.New("emf: exporter is shut down")
