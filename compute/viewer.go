package compute

// Viewer is who is looking: a project, or an admin who may see every
// project's resources when asking for them.
type Viewer struct {
	Project string
	Admin   bool
}

// sees reports whether v may see a resource of project.
func (v Viewer) sees(project string) bool { return v.Admin || v.Project == project }
