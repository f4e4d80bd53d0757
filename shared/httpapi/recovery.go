package httpapi

import (
	"net/http"
	"time"

	"github.com/kagiya/kagiya/shared/account"
)

func (a *api) handleUnlock() http.Handler {
	type request struct {
		Token string `json:"token"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req request
		if err := decode(w, r, &req); err != nil {
			a.fail(w, r, err)
			return
		}
		loginID, err := a.svc.Recovery.UnlockByToken(r.Context(), req.Token, clientIP(r))
		if err != nil {
			a.fail(w, r, err)
			return
		}
		// The link's holder has the mailbox of this login ID already: it is no secret to it.
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "login_id": loginID})
	})
}

func (a *api) handleForgot() http.Handler {
	type request struct {
		LoginID string `json:"login_id"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		var req request
		if err := decode(w, r, &req); err != nil {
			a.fail(w, r, err)
			return
		}
		err := a.svc.Recovery.Forgot(r.Context(), req.LoginID, clientIP(r))
		// Known and unknown accounts take the same time: wait out the floor either way.
		select {
		case <-time.After(time.Until(start.Add(a.forgotFloor))):
		case <-r.Context().Done():
		}
		if err != nil {
			a.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusAccepted, map[string]string{"status": "accepted"})
	})
}

func (a *api) handleReset() http.Handler {
	type request struct {
		Token       string `json:"token"`
		NewPassword string `json:"new_password"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req request
		if err := decode(w, r, &req); err != nil {
			a.fail(w, r, err)
			return
		}
		if err := a.svc.Recovery.Reset(r.Context(), req.Token, req.NewPassword, clientIP(r)); err != nil {
			a.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
}

// handleAdminUnlock lifts password locks (POST /api/admin/unlock), as handleUnlockMFA
// releases second-factor ones.
func (a *api) handleAdminUnlock() http.Handler {
	return a.handleBatchUnlock((*account.Admin).AdminUnlock)
}
