package substrait

import "embed"

//go:embed extensions/*
var substraitExtensionsFS embed.FS

func GetSubstraitFS() embed.FS { return substraitExtensionsFS }

func GetSubstraitExtensionsFS() embed.FS { return substraitExtensionsFS }
