package nova

import "github.com/gostack/gostack/kit/httpapi"

func (a *API) serviceRoutes(rt *httpapi.Router) {}
