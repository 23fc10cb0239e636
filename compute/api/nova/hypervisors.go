package nova

import "github.com/gostack/gostack/kit/httpapi"

func (a *API) hypervisorRoutes(rt *httpapi.Router) {}
