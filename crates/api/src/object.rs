//! Request bodies are JSON objects. serde's derived `Deserialize` of a struct (and of an
//! internally tagged enum) also takes a JSON array of the values in field order, which the
//! document forbids: [`object_only!`] makes such a type take only an object.
//!
//! The type derives with `#[serde(remote = "Self")]`, which turns the derived code into inherent
//! `serialize` / `deserialize` functions; the macro implements the traits around them,
//! deserializing through `deserialize_map` (an object, or an error naming the type).

/// `Serialize` and `Deserialize` for types that derive them with `#[serde(remote = "Self")]`,
/// deserialized from a JSON object only.
macro_rules! object_only {
    ($($name:ident),* $(,)?) => {$(
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                $name::serialize(self, serializer)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct Object;
                impl<'de> serde::de::Visitor<'de> for Object {
                    type Value = $name;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str(concat!("a JSON object (", stringify!($name), ")"))
                    }
                    fn visit_map<A: serde::de::MapAccess<'de>>(
                        self,
                        map: A,
                    ) -> Result<$name, A::Error> {
                        $name::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    }
                }
                deserializer.deserialize_map(Object)
            }
        }
    )*};
}

pub(crate) use object_only;
