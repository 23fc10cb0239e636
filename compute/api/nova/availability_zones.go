package nova

import "github.com/gostack/gostack/kit/httpapi"

func (a *API) availabilityZoneRoutes(rt *httpapi.Router) {}
