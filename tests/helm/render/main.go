// helm-render renders a Helm 3 chart the way `helm template` does, for the
// chart checks of a machine without helm (Debian has no helm package). It is
// not helm: it implements what charts written for helm 3 use, with helm's
// semantics where they matter to a chart author:
//
//   - values: the chart's values.yaml, then each -f file, then each --set
//     (dotted key=value, the value read as a YAML scalar), merged deeply; a
//     null in an override deletes the key, as in helm.
//   - objects: .Values, .Release (Name, Namespace, Service, IsInstall,
//     IsUpgrade, Revision), .Chart (Chart.yaml's fields, capitalized as
//     helm's: Name, Version, AppVersion, ...), .Capabilities (APIVersions.Has,
//     KubeVersion), .Template (Name, BasePath), .Files (Get, GetBytes, Glob
//     without "**", Lines, AsConfig, AsSecrets) over the chart's files, less
//     what .helmignore excludes.
//   - functions: sprig's text functions without env/expandenv (helm removes
//     them), and helm's toYaml, fromYaml, fromYamlArray, toJson, fromJson,
//     fromJsonArray, include, tpl, required, lookup (always
//     empty: there is no cluster).
//   - output: every template under templates/ whose name does not start with
//     "_", and not NOTES.txt, rendered with missingkey=zero ("<no value>"
//     becomes ""); documents that render to whitespace only are dropped; the
//     rest print as "---\n# Source: CHART/templates/NAME\n" and the text,
//     in path order (helm orders by kind; the checks compare objects).
//
// A template error (a failed `required`, a `fail`, a parse error) prints
// "Error: " and helm's message to stderr and exits 1.
//
// Usage:
//
//	helm-render [--name NAME] [--namespace NS] [--api-versions V]... \
//	            [-f values.yaml]... [--set key=value]... [--notes] CHART_DIR
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig/v3"
	"gopkg.in/yaml.v3"
)

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

type options struct {
	name, namespace string
	apiVersions     stringList
	valueFiles      stringList
	sets            stringList
	notes           bool
	chartDir        string
}

func parseArgs(args []string) (options, error) {
	o := options{name: "release-name", namespace: "default"}
	for i := 0; i < len(args); i++ {
		a := args[i]
		next := func() (string, error) {
			if i+1 >= len(args) {
				return "", fmt.Errorf("flag %s needs a value", a)
			}
			i++
			return args[i], nil
		}
		var err error
		var v string
		switch a {
		case "--name":
			o.name, err = next()
		case "--namespace", "-n":
			o.namespace, err = next()
		case "--api-versions", "-a":
			v, err = next()
			o.apiVersions = append(o.apiVersions, v)
		case "-f", "--values":
			v, err = next()
			o.valueFiles = append(o.valueFiles, v)
		case "--set":
			v, err = next()
			o.sets = append(o.sets, v)
		case "--notes":
			o.notes = true
		default:
			if strings.HasPrefix(a, "-") {
				return o, fmt.Errorf("unknown flag %s", a)
			}
			if o.chartDir != "" {
				return o, fmt.Errorf("one chart directory expected, got %s and %s", o.chartDir, a)
			}
			o.chartDir = a
		}
		if err != nil {
			return o, err
		}
	}
	if o.chartDir == "" {
		return o, errors.New("usage: helm-render [--name N] [--namespace NS] [--api-versions V]... [-f values.yaml]... [--set k=v]... [--notes] CHART_DIR")
	}
	return o, nil
}

// normalize turns yaml.v3's decoded maps into map[string]interface{} all the
// way down (it already does for string keys; other keys are stringified as
// helm's JSON round trip would).
func normalize(v interface{}) interface{} {
	switch t := v.(type) {
	case map[string]interface{}:
		for k, e := range t {
			t[k] = normalize(e)
		}
		return t
	case map[interface{}]interface{}:
		m := make(map[string]interface{}, len(t))
		for k, e := range t {
			m[fmt.Sprint(k)] = normalize(e)
		}
		return m
	case []interface{}:
		for i, e := range t {
			t[i] = normalize(e)
		}
		return t
	}
	return v
}

func readYAMLMap(file string) (map[string]interface{}, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	m := map[string]interface{}{}
	if err := yaml.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if m == nil {
		m = map[string]interface{}{}
	}
	return normalize(m).(map[string]interface{}), nil
}

// mergeValues merges src over dst as helm does: maps merge key by key, any
// other value replaces, and a null deletes.
func mergeValues(dst, src map[string]interface{}) map[string]interface{} {
	for k, v := range src {
		if v == nil {
			delete(dst, k)
			continue
		}
		if sm, ok := v.(map[string]interface{}); ok {
			if dm, ok := dst[k].(map[string]interface{}); ok {
				dst[k] = mergeValues(dm, sm)
				continue
			}
		}
		dst[k] = v
	}
	return dst
}

// applySet applies one --set key.path=value. The value is a YAML scalar
// ("true", "3", "null", "text").
func applySet(values map[string]interface{}, s string) error {
	eq := strings.IndexByte(s, '=')
	if eq <= 0 {
		return fmt.Errorf("--set %q: expected key=value", s)
	}
	keys := strings.Split(s[:eq], ".")
	var value interface{}
	if err := yaml.Unmarshal([]byte(s[eq+1:]), &value); err != nil {
		value = s[eq+1:]
	}
	m := values
	for _, k := range keys[:len(keys)-1] {
		if k == "" {
			return fmt.Errorf("--set %q: empty key", s)
		}
		sub, ok := m[k].(map[string]interface{})
		if !ok {
			sub = map[string]interface{}{}
			m[k] = sub
		}
		m = sub
	}
	last := keys[len(keys)-1]
	if value == nil {
		delete(m, last)
	} else {
		m[last] = normalize(value)
	}
	return nil
}

// toYAML is helm's toYaml: block YAML, two-space indent, no trailing newline;
// an error renders as "".
func toYAML(v interface{}) string {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return ""
	}
	enc.Close()
	return strings.TrimSuffix(buf.String(), "\n")
}

func fromYAML(s string) map[string]interface{} {
	m := map[string]interface{}{}
	if err := yaml.Unmarshal([]byte(s), &m); err != nil {
		m["Error"] = err.Error()
		return m
	}
	if m == nil {
		return map[string]interface{}{}
	}
	return normalize(m).(map[string]interface{})
}

func fromYAMLArray(s string) []interface{} {
	var a []interface{}
	if err := yaml.Unmarshal([]byte(s), &a); err != nil {
		return []interface{}{err.Error()}
	}
	return normalize(a).([]interface{})
}

func toJSON(v interface{}) string {
	data, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(data)
}

func fromJSON(s string) map[string]interface{} {
	m := map[string]interface{}{}
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		m["Error"] = err.Error()
	}
	return m
}

func fromJSONArray(s string) []interface{} {
	var a []interface{}
	if err := json.Unmarshal([]byte(s), &a); err != nil {
		return []interface{}{err.Error()}
	}
	return a
}

// files is .Files: the chart's files other than templates/, Chart.yaml's
// dependencies and what .helmignore excludes (this renderer honours only
// its plain path and "*.ext" lines).
type files map[string][]byte

func (f files) Get(name string) string      { return string(f[name]) }
func (f files) GetBytes(name string) []byte { return f[name] }
func (f files) Lines(name string) []string {
	if _, ok := f[name]; !ok {
		return []string{}
	}
	return strings.Split(string(f[name]), "\n")
}

// Glob matches with path.Match, where "*" stays within a directory as in
// helm's glob; helm's "**" (any depth) is not supported and matches nothing.
func (f files) Glob(pattern string) files {
	out := files{}
	for name, data := range f {
		if ok, _ := path.Match(pattern, name); ok {
			out[name] = data
		}
	}
	return out
}

func (f files) sortedNames() []string {
	names := make([]string, 0, len(f))
	for n := range f {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// AsConfig is helm's: the files as a ConfigMap data map (base names as keys).
func (f files) AsConfig() string {
	m := map[string]string{}
	for _, n := range f.sortedNames() {
		m[path.Base(n)] = string(f[n])
	}
	return toYAML(m)
}

func (f files) AsSecrets() string {
	m := map[string]string{}
	for _, n := range f.sortedNames() {
		m[path.Base(n)] = base64.StdEncoding.EncodeToString(f[n])
	}
	return toYAML(m)
}

func loadFiles(chartDir string) (files, map[string]string, error) {
	ignore := []string{}
	if data, err := os.ReadFile(filepath.Join(chartDir, ".helmignore")); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			line = strings.TrimSpace(line)
			if line != "" && !strings.HasPrefix(line, "#") {
				ignore = append(ignore, strings.TrimSuffix(line, "/"))
			}
		}
	}
	ignored := func(rel string) bool {
		for _, p := range ignore {
			if ok, _ := path.Match(p, path.Base(rel)); ok {
				return true
			}
			if p == rel {
				return true
			}
		}
		return false
	}
	all := files{}
	templates := map[string]string{}
	// filepath.WalkDir does not follow symlinks; charts may hold symlinked
	// files (helm follows them), so stat each entry.
	var walk func(dir, rel string) error
	walk = func(dir, rel string) error {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		for _, e := range entries {
			r := path.Join(rel, e.Name())
			if ignored(r) {
				continue
			}
			full := filepath.Join(dir, e.Name())
			info, err := os.Stat(full)
			if err != nil {
				return fmt.Errorf("%s: %w", r, err)
			}
			if info.IsDir() {
				if err := walk(full, r); err != nil {
					return err
				}
				continue
			}
			if !info.Mode().IsRegular() {
				return &fs.PathError{Op: "read", Path: r, Err: errors.New("not a regular file")}
			}
			data, err := os.ReadFile(full)
			if err != nil {
				return err
			}
			if strings.HasPrefix(r, "templates/") {
				templates[r] = string(data)
			} else {
				all[r] = data
			}
		}
		return nil
	}
	if err := walk(chartDir, ""); err != nil {
		return nil, nil, err
	}
	return all, templates, nil
}

type capabilities struct {
	APIVersions apiVersions
	KubeVersion kubeVersion
}

type apiVersions []string

// Has reports whether "group/version" or "group/version/Kind" is available.
func (a apiVersions) Has(v string) bool {
	for _, x := range a {
		if x == v {
			return true
		}
	}
	return false
}

type kubeVersion struct{ Version, Major, Minor string }

func (k kubeVersion) String() string { return k.Version }

var builtinAPIVersions = []string{"v1", "apps/v1", "batch/v1", "policy/v1", "networking.k8s.io/v1", "rbac.authorization.k8s.io/v1"}

func capitalizeChart(chart map[string]interface{}) map[string]interface{} {
	out := map[string]interface{}{}
	for k, v := range chart {
		switch k {
		case "apiVersion":
			out["APIVersion"] = v
		case "appVersion":
			out["AppVersion"] = v
		case "kubeVersion":
			out["KubeVersion"] = v
		default:
			out[strings.ToUpper(k[:1])+k[1:]] = v
		}
	}
	return out
}

func run(o options) (string, error) {
	chart, err := readYAMLMap(filepath.Join(o.chartDir, "Chart.yaml"))
	if err != nil {
		return "", fmt.Errorf("Chart.yaml: %w", err)
	}
	chartName, _ := chart["name"].(string)
	if chartName == "" {
		return "", errors.New("Chart.yaml: name is required")
	}
	values := map[string]interface{}{}
	if _, err := os.Stat(filepath.Join(o.chartDir, "values.yaml")); err == nil {
		if values, err = readYAMLMap(filepath.Join(o.chartDir, "values.yaml")); err != nil {
			return "", err
		}
	}
	for _, f := range o.valueFiles {
		over, err := readYAMLMap(f)
		if err != nil {
			return "", err
		}
		values = mergeValues(values, over)
	}
	for _, s := range o.sets {
		if err := applySet(values, s); err != nil {
			return "", err
		}
	}
	chartFiles, templates, err := loadFiles(o.chartDir)
	if err != nil {
		return "", err
	}

	root := template.New("gotpl")
	funcs := sprig.TxtFuncMap()
	delete(funcs, "env")
	delete(funcs, "expandenv")
	funcs["toYaml"] = toYAML
	funcs["fromYaml"] = fromYAML
	funcs["fromYamlArray"] = fromYAMLArray
	funcs["toJson"] = toJSON
	funcs["fromJson"] = fromJSON
	funcs["fromJsonArray"] = fromJSONArray
	funcs["required"] = func(msg string, v interface{}) (interface{}, error) {
		if v == nil {
			return v, errors.New(msg)
		}
		if s, ok := v.(string); ok && s == "" {
			return v, errors.New(msg)
		}
		return v, nil
	}
	funcs["lookup"] = func(string, string, string, string) (map[string]interface{}, error) {
		return map[string]interface{}{}, nil
	}
	includeDepth := map[string]int{}
	funcs["include"] = func(name string, data interface{}) (string, error) {
		includeDepth[name]++
		defer func() { includeDepth[name]-- }()
		if includeDepth[name] > 1000 {
			return "", fmt.Errorf("rendering template has a nested reference name: %s", name)
		}
		var buf strings.Builder
		if err := root.ExecuteTemplate(&buf, name, data); err != nil {
			return "", err
		}
		return buf.String(), nil
	}
	funcs["tpl"] = func(text string, data interface{}) (string, error) {
		t, err := root.Clone()
		if err != nil {
			return "", err
		}
		t, err = t.New("tpl").Parse(text)
		if err != nil {
			return "", fmt.Errorf("cannot parse template %q: %w", text, err)
		}
		var buf strings.Builder
		if err := t.Execute(&buf, data); err != nil {
			return "", fmt.Errorf("error during tpl function execution for %q: %w", text, err)
		}
		return strings.ReplaceAll(buf.String(), "<no value>", ""), nil
	}
	root.Funcs(funcs).Option("missingkey=zero")

	names := make([]string, 0, len(templates))
	for n := range templates {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		full := chartName + "/" + n
		if _, err := root.New(full).Parse(templates[n]); err != nil {
			return "", fmt.Errorf("parse error in %q: %w", full, err)
		}
	}

	apis := append(apiVersions{}, builtinAPIVersions...)
	apis = append(apis, o.apiVersions...)
	top := map[string]interface{}{
		"Values": values,
		"Release": map[string]interface{}{
			"Name": o.name, "Namespace": o.namespace, "Service": "Helm",
			"IsInstall": true, "IsUpgrade": false, "Revision": 1,
		},
		"Chart": capitalizeChart(chart),
		"Capabilities": capabilities{
			APIVersions: apis,
			KubeVersion: kubeVersion{Version: "v1.30.0", Major: "1", Minor: "30"},
		},
		"Files": chartFiles,
	}

	var out strings.Builder
	for _, n := range names {
		base := path.Base(n)
		if strings.HasPrefix(base, "_") {
			continue
		}
		isNotes := base == "NOTES.txt"
		if isNotes != o.notes {
			continue
		}
		full := chartName + "/" + n
		top["Template"] = map[string]interface{}{"Name": full, "BasePath": chartName + "/templates"}
		var buf strings.Builder
		if err := root.ExecuteTemplate(&buf, full, top); err != nil {
			return "", err
		}
		text := strings.ReplaceAll(buf.String(), "<no value>", "")
		if strings.TrimSpace(text) == "" {
			continue
		}
		if isNotes {
			out.WriteString(text)
			continue
		}
		// A template may hold several documents; print each non-empty one
		// under the template's source line, as helm does.
		for _, doc := range strings.Split(text, "\n---") {
			doc = strings.TrimPrefix(doc, "---")
			if strings.TrimSpace(doc) == "" {
				continue
			}
			fmt.Fprintf(&out, "---\n# Source: %s\n%s\n", full, strings.TrimRight(strings.TrimLeft(doc, "\n"), "\n "))
		}
	}
	return out.String(), nil
}

func main() {
	o, err := parseArgs(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(2)
	}
	text, err := run(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
	os.Stdout.WriteString(text)
}
