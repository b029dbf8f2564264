//! The paper of a case: each form's words from the case (`form`), the principal's details, the
//! signature a console asks of its window's pad, the pad's strokes made a PNG and recorded as
//! `form_signed` (the form's words as signed and the PNG kept as notes), and the signed form
//! looked up again for `bangban form verify`.

use std::collections::HashMap;

use base64::Engine as _;

use super::*;
use crate::forms::{self, FormContent, FormInput, FormKind};
use crate::principal::Principal;
use crate::signature::{self, Stroke};
use crate::store::SignRequestRow;

/// A signature the window's pad is asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignAsk {
    pub case: i64,
    pub number: String,
    pub form: String,
    pub title: String,
    /// The specialist who asked, by name.
    pub staff_name: String,
}

/// A form as the visitor signed it on the pad: its words then, the signature PNG, and the
/// event that recorded it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignedForm {
    pub seq: i64,
    pub at: String,
    pub case_ref: String,
    pub content: FormContent,
    /// The signature PNG, base64.
    pub png: String,
    /// The plain SHA-256 of the PNG, as the event has it.
    pub signature_sha256: String,
    /// The salted SHA-256 of the form's words as signed (the note's), as the event has it.
    pub form_sha256: String,
}

/// The case's principal from its latest `principal_recorded` (none once purged or never typed).
pub(crate) fn principal_in(tx: &dyn StoreTx, case: &Case) -> Result<Option<Principal>> {
    let events = tx.events(EventQuery::OfCase {
        case_id: case.id,
        before: i64::MAX,
    })?;
    principal_of(tx, &events)
}

/// The principal from a case's events already read (the notes still to read).
fn principal_of(tx: &dyn StoreTx, events: &[Event]) -> Result<Option<Principal>> {
    let Some(body) = events
        .iter()
        .rev()
        .filter(|e| e.kind == "principal_recorded")
        .find_map(|e| serde_json::from_str::<EventBody>(&e.payload).ok())
    else {
        return Ok(None);
    };
    let EventBody::PrincipalRecorded {
        name, id_number, phone, ..
    } = body
    else {
        return Ok(None);
    };
    let text = |r: &NoteRef| -> Result<String> { Ok(tx.note(r.note)?.map(|n| n.body).unwrap_or_default()) };
    let name = text(&name)?;
    let id_number = text(&id_number)?;
    if name.is_empty() || id_number.is_empty() {
        // Purged: the details are gone.
        return Ok(None);
    }
    Ok(Some(Principal {
        name,
        id_number,
        phone: match phone {
            Some(p) => Some(text(&p)?).filter(|p| !p.is_empty()),
            None => None,
        },
    }))
}

impl Ledger {
    /// A case with its events and its forms (numbers, and which are signed).
    pub fn case_view(&mut self, case_ref: &str) -> Result<crate::api::CaseView> {
        let case = self.find_case(case_ref)?;
        let events = self.case_events(case.id)?;
        let forms = forms::lines(&case, &events);
        let principal = principal_of(self.store.read(), &events)?.map(|p| p.masked());
        Ok(crate::api::CaseView {
            case,
            events,
            forms,
            principal,
        })
    }

    /// The printed number of a case's form (what 纸质签署 records).
    pub fn form_number(&mut self, kind: FormKind, case_ref: &str) -> Result<String> {
        Ok(forms::form_number(kind, &self.find_case(case_ref)?))
    }

    /// A form's words for a case (by number, token or `YYYY-MM-DD/A012`), from its data now.
    pub fn form(&mut self, kind: FormKind, case_ref: &str) -> Result<FormContent> {
        let case = self.find_case(case_ref)?;
        self.form_of(kind, &case)
    }

    fn form_of(&mut self, kind: FormKind, case: &Case) -> Result<FormContent> {
        let hall = self.hall()?;
        let today = self.business_day()?;
        let store = self.store.read();
        let raw = store.events(EventQuery::OfCase {
            case_id: case.id,
            before: i64::MAX,
        })?;
        let mut events = Vec::new();
        let mut notes = HashMap::new();
        for e in &raw {
            let Ok(body) = serde_json::from_str::<EventBody>(&e.payload) else {
                continue;
            };
            // The principal's details go into the form through `principal` (masked), and a
            // signature's notes are no words of a form.
            if !matches!(body, EventBody::PrincipalRecorded { .. } | EventBody::FormSigned { .. }) {
                for r in body.note_refs() {
                    if let Some(n) = store.note(r.note)? {
                        notes.insert(r.note, n.body);
                    }
                }
            }
            events.push((e.at.clone(), body));
        }
        let principal = if kind == FormKind::Poa {
            principal_of(store, &raw)?
        } else {
            None
        };
        Ok(forms::content(
            kind,
            &FormInput {
                hall: &hall,
                case,
                events: &events,
                notes: &notes,
                principal,
                status_url: hall.qr_payload(&case.token),
                today,
            },
        ))
    }

    /// The signature a window's pad is asked for, if any.
    pub(crate) fn sign_ask(&mut self, window: u32) -> Result<Option<SignAsk>> {
        let Some(SideRow::SignRequest(row)) = self.store.read().side(SideQuery::SignRequest(window))?.pop() else {
            return Ok(None);
        };
        let hall = self.hall()?;
        let case = self.case_by_id(row.case_id)?;
        let kind = FormKind::parse(&row.form).unwrap_or(FormKind::Poa);
        Ok(Some(SignAsk {
            case: case.id,
            number: case.number,
            form: row.form,
            title: kind.title().into(),
            staff_name: hall.specialist_name(&row.staff),
        }))
    }

    /// The visitor signed on the window's pad: the strokes become the PNG, the form's words as
    /// they stand now are kept with it, and `form_signed` records both hashes.
    pub fn sign_at_window(&mut self, window: u32, case_id: i64, strokes: &[Stroke], actor: &str) -> Result<Case> {
        let png = signature::png(strokes)?;
        let request = match self.store.read().side(SideQuery::SignRequest(window))?.pop() {
            Some(SideRow::SignRequest(r)) if r.case_id == case_id => r,
            _ => {
                return Err(LedgerError::Conflict(format!(
                    "window {window}'s pad is not asked for a signature on this case (any more)"
                )))
            }
        };
        let SignRequestRow { form, staff, seq, .. } = request;
        let kind = FormKind::parse(&form).ok_or_else(|| LedgerError::Invalid(format!("no form {form:?}")))?;
        let case = self.case_by_id(case_id)?;
        let content = self.form_of(kind, &case)?;
        let words = serde_json::to_string(&content).map_err(|e| LedgerError::Invalid(e.to_string()))?;
        let at = stamp(self.now());
        let tx = self.store.write(self.request.take())?;
        // The request read above is still the one answered (a second tap, or a new request in
        // between, finds it gone or another).
        if tx.put(SideWrite::SignRequestDone { window, seq })? == 0 {
            return Err(LedgerError::Conflict(format!(
                "window {window}'s signature request was answered or replaced"
            )));
        }
        let case = tx
            .case(CaseKey::Id(case_id))?
            .ok_or_else(|| LedgerError::UnknownCase(format!("#{case_id}")))?;
        let body = EventBody::FormSigned {
            form: kind.as_str().into(),
            staff,
            window: Some(window),
            content: Some(note_in(&*tx, case.id, "signed_form", &words, &at)?),
            signature: Some(note_in(
                &*tx,
                case.id,
                "signature",
                &base64::engine::general_purpose::STANDARD.encode(&png),
                &at,
            )?),
            signature_sha256: Some(signature::sha256(&png)),
            paper: None,
        };
        let next = record_in(&*tx, Some(&case), case.id, &at, actor, &body)?;
        tx.commit()?;
        Ok(next)
    }

    /// The latest form of a kind the visitor signed on the pad for a case.
    pub fn signed_form(&mut self, kind: FormKind, case_ref: &str) -> Result<Option<SignedForm>> {
        let case = self.find_case(case_ref)?;
        let seq = self
            .case_events(case.id)?
            .into_iter()
            .rev()
            .filter(|e| e.kind == "form_signed")
            .find(|e| {
                matches!(serde_json::from_str::<EventBody>(&e.payload),
                    Ok(EventBody::FormSigned { form, content: Some(_), .. }) if form == kind.as_str())
            })
            .map(|e| e.seq);
        match seq {
            Some(seq) => self.signed_form_at(seq).map(Some),
            None => Ok(None),
        }
    }

    /// The signed form of event `seq`, with its words and signature from the notes.
    pub fn signed_form_at(&mut self, seq: i64) -> Result<SignedForm> {
        let ev = self
            .store
            .read()
            .events(EventQuery::Seq(seq))?
            .pop()
            .ok_or_else(|| LedgerError::Invalid(format!("the ledger has no event {seq}")))?;
        let Ok(EventBody::FormSigned {
            content: Some(content),
            signature: Some(sig),
            signature_sha256: Some(signature_sha256),
            ..
        }) = serde_json::from_str::<EventBody>(&ev.payload)
        else {
            return Err(LedgerError::Invalid(format!(
                "event {seq} is no form signed on the pad"
            )));
        };
        let words = self.note(content.note)?.body;
        let png = self.note(sig.note)?.body;
        if words.is_empty() || png.is_empty() {
            return Err(LedgerError::Invalid(format!(
                "the signed form of event {seq} was purged at the end of its retention period"
            )));
        }
        let content_v: FormContent = serde_json::from_str(&words)
            .map_err(|e| LedgerError::Corrupt(format!("signed form of event {seq}: {e}")))?;
        Ok(SignedForm {
            seq,
            at: ev.at,
            case_ref: content_v.case_ref.clone(),
            content: content_v,
            png,
            signature_sha256,
            form_sha256: content.sha256,
        })
    }
}
