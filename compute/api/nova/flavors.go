package nova

import "github.com/gostack/gostack/kit/httpapi"

func (a *API) flavorRoutes(rt *httpapi.Router) {}
