//! The callback binder both apps use: one line connects an adapter's callback to its
//! controller, holding the window and the controller's state weakly so neither keeps the
//! other alive, and doing nothing once either is gone.

/// `bind!(ui, state, Adapter, on_callback, |ui, state, args…| body)`: set `on_callback` of
/// the global `Adapter` on `ui` to run `body` with `ui: &Window` and `state: &Rc<…>` upgraded
/// from weak references. `state` is an `Rc` (the controller's state) or `()` for callbacks that
/// need only the window.
#[macro_export]
macro_rules! bind {
    ($ui:expr, (), $global:ty, $setter:ident, |$u:ident $(, $arg:ident)*| $body:expr) => {{
        let weak = slint::ComponentHandle::as_weak($ui);
        slint::ComponentHandle::global::<$global>($ui).$setter(move |$($arg),*| {
            if let Some($u) = weak.upgrade() {
                let $u = &$u;
                $body
            }
        });
    }};
    ($ui:expr, $state:expr, $global:ty, $setter:ident, |$u:ident, $s:ident $(, $arg:ident)*| $body:expr) => {{
        let (weak, state) = (slint::ComponentHandle::as_weak($ui), std::rc::Rc::downgrade($state));
        slint::ComponentHandle::global::<$global>($ui).$setter(move |$($arg),*| {
            if let (Some($u), Some($s)) = (weak.upgrade(), state.upgrade()) {
                let $u = &$u;
                let $s = &$s;
                $body
            }
        });
    }};
}
