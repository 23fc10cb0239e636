package nova

import "github.com/gostack/gostack/kit/httpapi"

func (a *API) limitRoutes(rt *httpapi.Router) {}
