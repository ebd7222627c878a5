// Command k8s-schemas turns the Kubernetes OpenAPI v2 document (api/openapi-spec/swagger.json
// of the Go module k8s.io/kubernetes) into the per-kind, self-contained JSON schemas that
// kubeconform reads, in the directory layout of its default schema repository:
//
//	OUT/<version>-standalone/<kind>-<group>-<version>.json         (plain)
//	OUT/<version>-standalone-strict/<kind>-<group>-<version>.json  (additionalProperties: false)
//
// so `kubeconform -kubernetes-version X -schema-location OUT` works with no network.
// Conversion rules follow the usual openapi2jsonschema output: $refs inlined, every type also
// allows null, int-or-string and quantities accept strings and numbers, apiVersion/kind are
// pinned to the resource's values.
//
// Usage: k8s-schemas SWAGGER_JSON OUT_DIR KUBERNETES_VERSION   (version like v1.31.4)
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

type schema = map[string]any

const refPrefix = "#/definitions/"

// converter inlines definitions; strict adds additionalProperties: false to closed objects.
type converter struct {
	defs   map[string]schema
	strict bool
}

// numericOrString is what Kubernetes accepts for IntOrString and resource quantities.
var numericOrString = schema{"oneOf": []any{
	schema{"type": []any{"string", "null"}},
	schema{"type": []any{"number", "null"}},
}}

func (c *converter) convert(in schema, stack []string) schema {
	if ref, ok := in["$ref"].(string); ok {
		name := strings.TrimPrefix(ref, refPrefix)
		for _, seen := range stack {
			if seen == name { // recursive type (CRD JSONSchemaProps): accept anything below
				return schema{}
			}
		}
		def, ok := c.defs[name]
		if !ok {
			return schema{}
		}
		out := c.convert(def, append(stack, name))
		if d, ok := in["description"]; ok {
			out["description"] = d
		}
		return out
	}
	if format, _ := in["format"].(string); format == "int-or-string" {
		return copySchema(numericOrString)
	}
	out := schema{}
	for key, value := range in {
		switch key {
		case "properties":
			props := schema{}
			for name, p := range value.(map[string]any) {
				props[name] = c.convert(p.(map[string]any), stack)
			}
			out[key] = props
		case "items", "additionalProperties":
			if sub, ok := value.(map[string]any); ok {
				out[key] = c.convert(sub, stack)
			} else {
				out[key] = value
			}
		case "type":
			out[key] = []any{value, "null"}
		case "x-kubernetes-group-version-kind", "x-kubernetes-list-map-keys", "x-kubernetes-list-type",
			"x-kubernetes-patch-merge-key", "x-kubernetes-patch-strategy", "x-kubernetes-unions",
			"x-kubernetes-map-type":
			// annotations for the API server, not validation rules
		default:
			out[key] = value
		}
	}
	if c.strict {
		if _, hasProps := out["properties"]; hasProps {
			if _, open := out["additionalProperties"]; !open {
				out["additionalProperties"] = false
			}
		}
	}
	return out
}

func copySchema(s schema) schema {
	raw, _ := json.Marshal(s)
	var out schema
	_ = json.Unmarshal(raw, &out)
	return out
}

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: k8s-schemas SWAGGER_JSON OUT_DIR KUBERNETES_VERSION")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2], os.Args[3]); err != nil {
		fmt.Fprintln(os.Stderr, "k8s-schemas:", err)
		os.Exit(1)
	}
}

func run(swaggerPath, outDir, version string) error {
	raw, err := os.ReadFile(swaggerPath)
	if err != nil {
		return err
	}
	var doc struct {
		Definitions map[string]schema `json:"definitions"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return fmt.Errorf("%s: %w", swaggerPath, err)
	}
	// quantities are declared as strings but written as numbers just as often (cpu: 1)
	doc.Definitions["io.k8s.apimachinery.pkg.api.resource.Quantity"] = copySchema(numericOrString)

	written := 0
	for _, strict := range []bool{false, true} {
		dir := filepath.Join(outDir, version+"-standalone")
		if strict {
			dir += "-strict"
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		c := &converter{defs: doc.Definitions, strict: strict}
		for name, def := range doc.Definitions {
			gvks, _ := def["x-kubernetes-group-version-kind"].([]any)
			for _, item := range gvks {
				gvk := item.(map[string]any)
				group, _ := gvk["group"].(string)
				ver, _ := gvk["version"].(string)
				kind, _ := gvk["kind"].(string)
				apiVersion := ver
				if group != "" {
					apiVersion = group + "/" + ver
				}
				out := c.convert(def, []string{name})
				pin(out, "apiVersion", apiVersion)
				pin(out, "kind", kind)
				out["$schema"] = "http://json-schema.org/schema#"
				body, err := json.MarshalIndent(out, "", "  ")
				if err != nil {
					return err
				}
				if err := os.WriteFile(filepath.Join(dir, fileName(kind, group, ver)), body, 0o644); err != nil {
					return err
				}
				written++
			}
		}
	}
	fmt.Printf("wrote %d schemas under %s\n", written, outDir)
	return nil
}

// pin restricts a top-level string property to one value (as kubeconform's schemas do).
func pin(s schema, property, value string) {
	props, ok := s["properties"].(schema)
	if !ok {
		return
	}
	if p, ok := props[property].(schema); ok {
		p["enum"] = []any{value}
	}
}

// fileName is kubeconform's "{{.ResourceKind}}{{.KindSuffix}}.json" for this group/version:
// the group's first label only (networking.k8s.io -> networking), core group omitted.
func fileName(kind, group, version string) string {
	suffix := ""
	if group != "" {
		suffix = "-" + strings.ToLower(strings.Split(group, ".")[0])
	}
	return strings.ToLower(kind) + suffix + "-" + strings.ToLower(version) + ".json"
}
