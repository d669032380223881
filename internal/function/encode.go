package function

import (
	"encoding/json"
	"reflect"
	"strings"
	"sync"

	"google.golang.org/protobuf/types/known/structpb"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
)

// toStruct encodes a typed object straight into the protobuf Struct of a
// desired resource, as composed.From followed by resource.AsStruct would,
// without their JSON round trip and intermediate map. It is the hot path of
// every RunFunction: encoding four managed resources that way cost more than
// half of the function's allocations. TestToStruct holds it equal to
// composed.From for every kind the function composes.
//
// Like composed.From it omits empty values of omitempty fields, including
// empty structs such as a zero status or creationTimestamp.
func toStruct(o any) (*structpb.Struct, error) {
	v, err := encode(reflect.ValueOf(o))
	if err != nil {
		return nil, err
	}
	if v == nil {
		return &structpb.Struct{Fields: map[string]*structpb.Value{}}, nil
	}
	s := v.GetStructValue()
	if s == nil {
		return nil, errors.Errorf("cannot encode %T as an object", o)
	}
	return s, nil
}

var (
	quantityType = reflect.TypeFor[resource.Quantity]()
	timeType     = reflect.TypeFor[metav1.Time]()
	marshaler    = reflect.TypeFor[json.Marshaler]()
)

// encode returns nil for a value that omitempty omits.
func encode(v reflect.Value) (*structpb.Value, error) { //nolint:gocyclo // One case per kind reads best.
	switch v.Type() {
	case quantityType:
		q := v.Interface().(resource.Quantity) //nolint:forcetypeassert // Checked by the type.
		return structpb.NewStringValue(q.String()), nil
	case timeType:
		t := v.Interface().(metav1.Time) //nolint:forcetypeassert // Checked by the type.
		if t.IsZero() {
			return nil, nil
		}
		return structpb.NewStringValue(t.UTC().Format("2006-01-02T15:04:05Z07:00")), nil
	}
	if v.Kind() != reflect.Pointer && v.Kind() != reflect.Interface && v.Type().Implements(marshaler) {
		return encodeJSON(v)
	}

	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil, nil
		}
		return encode(v.Elem())
	case reflect.Struct:
		return encodeStruct(v)
	case reflect.Map:
		if v.Len() == 0 {
			return nil, nil
		}
		fields := make(map[string]*structpb.Value, v.Len())
		it := v.MapRange()
		for it.Next() {
			e, err := encode(it.Value())
			if err != nil {
				return nil, err
			}
			if e == nil {
				e = structpb.NewNullValue()
			}
			fields[it.Key().String()] = e
		}
		return structpb.NewStructValue(&structpb.Struct{Fields: fields}), nil
	case reflect.Slice:
		if v.Len() == 0 {
			return nil, nil
		}
		vals := make([]*structpb.Value, v.Len())
		for i := range vals {
			e, err := encode(v.Index(i))
			if err != nil {
				return nil, err
			}
			if e == nil {
				e = structpb.NewStructValue(&structpb.Struct{Fields: map[string]*structpb.Value{}})
			}
			vals[i] = e
		}
		return structpb.NewListValue(&structpb.ListValue{Values: vals}), nil
	case reflect.String:
		if v.Len() == 0 {
			return nil, nil
		}
		return structpb.NewStringValue(v.String()), nil
	case reflect.Bool:
		if !v.Bool() {
			return nil, nil
		}
		return structpb.NewBoolValue(true), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if v.Int() == 0 {
			return nil, nil
		}
		return structpb.NewNumberValue(float64(v.Int())), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if v.Uint() == 0 {
			return nil, nil
		}
		return structpb.NewNumberValue(float64(v.Uint())), nil
	case reflect.Float32, reflect.Float64:
		if v.Float() == 0 {
			return nil, nil
		}
		return structpb.NewNumberValue(v.Float()), nil
	default:
		return nil, errors.Errorf("cannot encode a %s", v.Type())
	}
}

func encodeStruct(v reflect.Value) (*structpb.Value, error) {
	fields := map[string]*structpb.Value{}
	if err := encodeFields(v, fields); err != nil {
		return nil, err
	}
	if len(fields) == 0 {
		return nil, nil
	}
	return structpb.NewStructValue(&structpb.Struct{Fields: fields}), nil
}

// encodeFields adds a struct's fields to fields, inlining embedded structs.
func encodeFields(v reflect.Value, fields map[string]*structpb.Value) error {
	for i, f := range jsonFields(v.Type()) {
		if f.name == "" {
			continue
		}
		fv := v.Field(i)
		if f.inline {
			if err := encodeFields(fv, fields); err != nil {
				return err
			}
			continue
		}
		e, err := encode(fv)
		if err != nil {
			return errors.Wrapf(err, "cannot encode %s", f.name)
		}
		if e == nil {
			if f.omitempty {
				continue
			}
			e = zero(fv)
		}
		fields[f.name] = e
	}
	return nil
}

// zero is how JSON spells the zero value of a field without omitempty.
func zero(v reflect.Value) *structpb.Value {
	switch v.Kind() { //nolint:exhaustive // Every other kind is null.
	case reflect.String:
		return structpb.NewStringValue("")
	case reflect.Bool:
		return structpb.NewBoolValue(false)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return structpb.NewNumberValue(0)
	case reflect.Struct:
		return structpb.NewStructValue(&structpb.Struct{Fields: map[string]*structpb.Value{}})
	}
	return structpb.NewNullValue()
}

// encodeJSON encodes a type with its own MarshalJSON.
func encodeJSON(v reflect.Value) (*structpb.Value, error) {
	b, err := json.Marshal(v.Interface())
	if err != nil {
		return nil, err
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	if out == nil {
		return nil, nil
	}
	return structpb.NewValue(out)
}

// A jsonField is a struct field as encoding/json sees it; name is empty for
// fields it skips.
type jsonField struct {
	name      string
	omitempty bool
	inline    bool
}

var fieldCache sync.Map // reflect.Type -> []jsonField

func jsonFields(t reflect.Type) []jsonField {
	if f, ok := fieldCache.Load(t); ok {
		return f.([]jsonField) //nolint:forcetypeassert // Only jsonFields stores.
	}
	out := make([]jsonField, t.NumField())
	for i := range out {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		f := jsonField{name: name, omitempty: strings.Contains(","+opts+",", ",omitempty,")}
		if name == "" {
			f.name = sf.Name
			f.inline = sf.Anonymous || strings.Contains(","+opts+",", ",inline,")
		}
		out[i] = f
	}
	fieldCache.Store(t, out)
	return out
}
