package classifiers

func init() {
	RegisterType(Type{
		Name:    "nop",
		Summary: "scores nothing: a pipeline of rails, signals and media alone",
		Config:  func() TypeConfig { return &nopType{} },
	})
}

type nopType struct{}

func (*nopType) EnsureDefaults()                                          {}
func (*nopType) Validate() error                                          { return nil }
func (*nopType) New(func(Config) (Classifier, error)) (Classifier, error) { return nil, nil }
