package directory

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/tenantkit/tenantkit/tenant"
)

// MaxEventSize is the largest event EventHandler reads: EventBridge's limit
// on an event's size.
const MaxEventSize = 256 << 10

// ErrInvalidEvent reports an event that is not an EventBridge envelope
// naming a tenant.
var ErrInvalidEvent = errors.New("directory: invalid event")

// envelope is the part of an EventBridge event ParseEvent reads.
type envelope struct {
	DetailType *string         `json:"detail-type"`
	Source     string          `json:"source"`
	Detail     json.RawMessage `json:"detail"`
}

// ParseEvent returns the tenant a control-plane event names. The event is
// an EventBridge envelope whose "detail-type" is any non-empty string (such
// as "Tenant Suspended" or "Tenant Tier Changed": every change of a tenant
// is an invalidation) and whose "detail" object names the tenant in
// "tenantId":
//
//	{"version": "0", "detail-type": "Tenant Suspended", "source": "com.example.control-plane",
//	 "detail": {"tenantId": "acme"}, ...}
//
// Errors wrap [ErrInvalidEvent] and never echo the input.
func ParseEvent(data []byte) (tenantID string, err error) {
	var env envelope
	if err := json.Unmarshal(data, &env); err != nil {
		return "", fmt.Errorf("%w: not a JSON object", ErrInvalidEvent)
	}
	if env.DetailType == nil || *env.DetailType == "" {
		return "", fmt.Errorf("%w: no detail-type", ErrInvalidEvent)
	}
	var detail struct {
		TenantID *string `json:"tenantId"`
	}
	if len(env.Detail) == 0 || env.Detail[0] != '{' || json.Unmarshal(env.Detail, &detail) != nil {
		return "", fmt.Errorf("%w: detail is not an object", ErrInvalidEvent)
	}
	if detail.TenantID == nil {
		return "", fmt.Errorf("%w: detail has no tenantId", ErrInvalidEvent)
	}
	if err := tenant.ValidateID(*detail.TenantID); err != nil {
		return "", fmt.Errorf("%w: detail.tenantId: %w", ErrInvalidEvent, err)
	}
	return *detail.TenantID, nil
}

// EventHandler returns an http.Handler that takes control-plane events,
// one EventBridge envelope per POST (see [ParseEvent]), and invalidates the
// tenant each names in c: the next request of that tenant asks the
// directory. It answers 204 for an event applied, 400 for an invalid one,
// 405 for another method and 413 for a body over [MaxEventSize]. An
// EventBridge API destination or a Lambda function forwards the events to
// it. An invalidation only makes the cache ask again, so a forged event
// costs a lookup and cannot admit anyone; still, mount it where only the
// control plane reaches it.
func EventHandler(c *Cache) http.Handler {
	if c == nil {
		panic("directory: EventHandler: c is nil")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxEventSize))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				http.Error(w, "event too large", http.StatusRequestEntityTooLarge)
				return
			}
			http.Error(w, "cannot read the event", http.StatusBadRequest)
			return
		}
		id, err := ParseEvent(data)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		c.Invalidate(id)
		w.WriteHeader(http.StatusNoContent)
	})
}
