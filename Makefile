# `sam build` builds ClusterApiLayer (BuildMethod: makefile in template.yaml) with this target:
# the same esbuild settings as every function, from the layer's BuildProperties.
build-ClusterApiLayer:
	node scripts/build.mjs --layer "$(ARTIFACTS_DIR)"
