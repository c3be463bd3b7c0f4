//! SCIM 2.0 filters and PATCH paths (RFC 7644 §3.4.2.2 and §3.5.2): parsing and canonical
//! printing. What a filter means for a resource is `matcher`'s job.
//!
//! Positions in error messages are 0-based character offsets into the input.

use std::fmt;

use serde_json::Value;

/// Longest filter or path accepted, in characters.
pub const MAX_LEN: usize = 4096;
/// Deepest nesting of `(`, `not (` and `[`; bounds recursion on hostile input.
pub const MAX_DEPTH: usize = 64;

const OPERATOR: &str = "a comparison operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr)";
const VALUE: &str = "a value (a \"quoted string\", number, true, false or null)";

/// `urn:...:User:name.givenName` -> uri Some("urn:...:User"), name "name", sub Some("givenName").
#[derive(Debug, Clone, PartialEq)]
pub struct AttrPath {
    pub uri: Option<String>,
    pub name: String,
    pub sub: Option<String>,
}

/// Declares the comparison operators once: the enum, each one's keyword and `CompareOp::ALL`
/// (what the parser accepts) all come from this list, so no operator can be left unparsed.
macro_rules! compare_ops {
    ($($op:ident => $keyword:literal),+ $(,)?) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum CompareOp {
            $($op),+
        }

        impl CompareOp {
            pub const ALL: &'static [CompareOp] = &[$(CompareOp::$op),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(CompareOp::$op => $keyword),+
                }
            }
        }
    };
}

compare_ops! {
    Eq => "eq",
    Ne => "ne",
    Co => "co",
    Sw => "sw",
    Ew => "ew",
    Gt => "gt",
    Ge => "ge",
    Lt => "lt",
    Le => "le",
}

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    Present(AttrPath),
    /// The value is a String, Number, Bool or Null.
    Compare(AttrPath, CompareOp, Value),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    /// `emails[type eq "work" and value co "@x.com"]`: attr has no sub; inner paths are relative to each element.
    ValuePath(AttrPath, Box<Filter>),
}

/// PATCH path (RFC 7644 §3.5.2): attrPath / valuePath [subAttr]
/// `members[value eq "2819"]` -> attr members, value_filter Some(..), sub None
/// `emails[type eq "work"].value` -> attr emails, filter, sub Some("value")
/// `name.givenName` -> attr {name, sub: givenName}, no filter
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    pub attr: AttrPath,
    pub value_filter: Option<Filter>,
    pub sub: Option<String>,
}

/// A human-actionable message: what was expected, where (character offset), the offending text.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct FilterError(pub String);

impl CompareOp {
    /// Case-insensitive, as RFC 7644 requires for operators.
    pub fn from_keyword(word: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|op| op.as_str().eq_ignore_ascii_case(word))
    }
}

impl fmt::Display for CompareOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(uri) = &self.uri {
            write!(f, "{uri}:")?;
        }
        f.write_str(&self.name)?;
        if let Some(sub) = &self.sub {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

/// `attr[filter].sub`; parses back to the same path.
impl fmt::Display for PatchPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.attr)?;
        if let Some(filter) = &self.value_filter {
            write!(f, "[{filter}]")?;
        }
        if let Some(sub) = &self.sub {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

/// Prints only the parentheses that precedence and left-associativity need, so the output
/// parses back to the same tree.
impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let is_or = |x: &Filter| matches!(x, Filter::Or(..));
        let is_logic = |x: &Filter| matches!(x, Filter::Or(..) | Filter::And(..));
        match self {
            Filter::Present(path) => write!(f, "{path} pr"),
            Filter::Compare(path, op, value) => write!(f, "{path} {op} {value}"),
            Filter::Or(l, r) => write!(f, "{l} or {}", Grouped(r, is_or(r))),
            Filter::And(l, r) => write!(
                f,
                "{} and {}",
                Grouped(l, is_or(l)),
                Grouped(r, is_logic(r))
            ),
            Filter::Not(inner) => write!(f, "not ({inner})"),
            Filter::ValuePath(path, inner) => write!(f, "{path}[{inner}]"),
        }
    }
}

struct Grouped<'a>(&'a Filter, bool);

impl fmt::Display for Grouped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.1 {
            write!(f, "({})", self.0)
        } else {
            write!(f, "{}", self.0)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Lexer

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LParen,
    RParen,
    LBracket,
    RBracket,
    /// A decoded JSON string literal.
    Str(String),
    /// Any run of other characters: attribute path, operator, keyword, number or literal.
    Word(String),
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    start: usize,
    end: usize,
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn is_delimiter(c: char) -> bool {
    is_space(c) || matches!(c, '(' | ')' | '[' | ']' | '"')
}

/// At most 80 characters of `text` (enough for a schema URN), so hostile input is not echoed whole.
fn snippet(mut text: impl Iterator<Item = char>) -> String {
    let mut s: String = text.by_ref().take(80).collect();
    if text.next().is_some() {
        s.push('…');
    }
    s
}

fn lex(src: &[char]) -> Result<Vec<Token>, FilterError> {
    let mut toks = Vec::new();
    let mut i = 0;
    while let Some(&c) = src.get(i) {
        let start = i;
        i += 1;
        let tok = match c {
            c if is_space(c) => continue,
            '(' => Tok::LParen,
            ')' => Tok::RParen,
            '[' => Tok::LBracket,
            ']' => Tok::RBracket,
            '"' => {
                i = string_end(src, start)?;
                let raw: String = span(src, start, i).iter().collect();
                Tok::Str(serde_json::from_str(&raw).map_err(|e| {
                    FilterError(format!(
                        "invalid string literal at position {start} ({e}): {}",
                        snippet(span(src, start, i).iter().copied())
                    ))
                })?)
            }
            _ => {
                while src.get(i).is_some_and(|&c| !is_delimiter(c)) {
                    i += 1;
                }
                Tok::Word(span(src, start, i).iter().collect())
            }
        };
        toks.push(Token { tok, start, end: i });
    }
    Ok(toks)
}

/// `src[start..end]`, or nothing if the bounds are off (they never are: no slicing can panic).
fn span(src: &[char], start: usize, end: usize) -> &[char] {
    src.get(start..end).unwrap_or_default()
}

/// Index just past the quote closing the string literal that opens at `start`.
fn string_end(src: &[char], start: usize) -> Result<usize, FilterError> {
    let mut i = start + 1;
    while let Some(&c) = src.get(i) {
        match c {
            '"' => return Ok(i + 1),
            '\\' => i += 2,
            _ => i += 1,
        }
    }
    Err(FilterError(format!(
        "unterminated string starting at position {start}: {}",
        snippet(span(src, start, src.len()).iter().copied())
    )))
}

// ---------------------------------------------------------------------------------------------
// Attribute paths

fn is_attr_name(s: &str) -> bool {
    let mut chars = s.chars();
    s.eq_ignore_ascii_case("$ref")
        || chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// A URN segment such as `2.0`: in SCIM schema URNs it is always followed by the resource
/// name (`...:2.0:User`), never by an attribute.
fn is_version(segment: &str) -> bool {
    segment.contains(|c: char| c.is_ascii_digit())
        && segment.chars().all(|c| c.is_ascii_digit() || c == '.')
}

/// Parses one lexer word as `[URI ":"] ATTRNAME ["." ATTRNAME]`; `pos` is where it starts.
fn attr_path_at(word: &str, pos: usize) -> Result<AttrPath, FilterError> {
    let invalid = |why: &str| {
        FilterError(format!(
            "invalid attribute path \"{}\" at position {pos}: {why}",
            snippet(word.chars())
        ))
    };
    // The last ':' ends the URI: URNs contain ':' and '.' (`...:core:2.0:User:name.givenName`).
    let (uri, rest) = match word.rsplit_once(':') {
        Some((uri, rest)) => (Some(uri), rest),
        None => (None, word),
    };
    if let Some(uri) = uri {
        if uri.is_empty() {
            return Err(invalid("the schema URI before \":\" is empty"));
        }
        if uri.rsplit(':').next().is_some_and(is_version) {
            return Err(invalid(
                "this is a schema URN, not an attribute; append \":attributeName\"",
            ));
        }
        if rest.is_empty() {
            return Err(invalid("expected an attribute name after the last \":\""));
        }
    }
    let (name, sub) = match rest.split_once('.') {
        Some((name, sub)) => (name, Some(sub)),
        None => (rest, None),
    };
    let rule =
        "attribute names start with a letter and contain only letters, digits, \"-\" and \"_\"";
    if !is_attr_name(name) {
        return Err(invalid(rule));
    }
    if let Some(sub) = sub {
        if sub.contains('.') {
            return Err(invalid("only one sub-attribute level is allowed"));
        }
        if !is_attr_name(sub) {
            return Err(invalid(&format!("bad sub-attribute \"{sub}\"; {rule}")));
        }
    }
    Ok(AttrPath {
        uri: uri.map(str::to_owned),
        name: name.to_owned(),
        sub: sub.map(str::to_owned),
    })
}

// ---------------------------------------------------------------------------------------------
// Parser

struct Parser {
    src: Vec<char>,
    toks: Vec<Token>,
    i: usize,
    depth: usize,
    /// Set while parsing a `[...]` value filter, where another `[` is not allowed.
    in_brackets: bool,
}

impl Parser {
    fn new(input: &str, what: &str) -> Result<Self, FilterError> {
        let len = input.chars().count();
        if len > MAX_LEN {
            return Err(FilterError(format!(
                "{what} is {len} characters long; the maximum is {MAX_LEN}"
            )));
        }
        let src: Vec<char> = input.chars().collect();
        if src.iter().all(|&c| is_space(c)) {
            return Err(FilterError(format!("{what} is empty")));
        }
        let toks = lex(&src)?;
        Ok(Parser {
            src,
            toks,
            i: 0,
            depth: 0,
            in_brackets: false,
        })
    }

    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.i).map(|t| &t.tok)
    }

    fn peek_word(&self) -> Option<&str> {
        match self.peek() {
            Some(Tok::Word(w)) => Some(w),
            _ => None,
        }
    }

    /// Position of the current token, or the end of input.
    fn pos(&self) -> usize {
        self.toks.get(self.i).map_or(self.src.len(), |t| t.start)
    }

    /// Source text of a token, quoted for messages (string literals already are).
    fn quoted(&self, t: &Token) -> String {
        let text = snippet(span(&self.src, t.start, t.end).iter().copied());
        match t.tok {
            Tok::Str(_) => text,
            _ => format!("\"{text}\""),
        }
    }

    fn expected(&self, what: &str) -> FilterError {
        let after = match self.i.checked_sub(1).and_then(|j| self.toks.get(j)) {
            Some(t) => format!(" after {}", self.quoted(t)),
            None => String::new(),
        };
        let found = match self.toks.get(self.i) {
            Some(t) => format!("found {}", self.quoted(t)),
            None => "found end of input".to_owned(),
        };
        FilterError(format!(
            "expected {what}{after} at position {}, {found}",
            self.pos()
        ))
    }

    fn keyword(&mut self, kw: &str) -> bool {
        let hit = self.peek_word().is_some_and(|w| w.eq_ignore_ascii_case(kw));
        if hit {
            self.i += 1;
        }
        hit
    }

    /// Succeeds only at the end of input; a stray closer gets its own message.
    fn finish(&self, what: &str) -> Result<(), FilterError> {
        let Some(t) = self.toks.get(self.i) else {
            return Ok(());
        };
        let opener = match t.tok {
            Tok::RParen => "(",
            Tok::RBracket => "[",
            _ => return Err(self.expected(what)),
        };
        Err(FilterError(format!(
            "unbalanced {} at position {}: there is no matching \"{opener}\"",
            self.quoted(t),
            t.start
        )))
    }

    fn enter(&mut self, pos: usize) -> Result<(), FilterError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(FilterError(format!(
                "filter nests parentheses or brackets deeper than {MAX_DEPTH} levels at position {pos}"
            )));
        }
        Ok(())
    }

    fn close(&mut self, closer: Tok, what: &str) -> Result<(), FilterError> {
        if self.peek() != Some(&closer) {
            return Err(self.expected(what));
        }
        self.i += 1;
        self.depth = self.depth.saturating_sub(1);
        Ok(())
    }

    fn or_expr(&mut self) -> Result<Filter, FilterError> {
        let mut lhs = self.and_expr()?;
        while self.keyword("or") {
            lhs = Filter::Or(Box::new(lhs), Box::new(self.and_expr()?));
        }
        Ok(lhs)
    }

    fn and_expr(&mut self) -> Result<Filter, FilterError> {
        let mut lhs = self.unary()?;
        while self.keyword("and") {
            lhs = Filter::And(Box::new(lhs), Box::new(self.unary()?));
        }
        Ok(lhs)
    }

    fn unary(&mut self) -> Result<Filter, FilterError> {
        match self.peek() {
            Some(Tok::LParen) => self.group(),
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("not") => {
                match self.toks.get(self.i + 1).map(|t| &t.tok) {
                    Some(Tok::LParen) => {
                        self.i += 1;
                        Ok(Filter::Not(Box::new(self.group()?)))
                    }
                    // `not pr`, `not eq 1`: an attribute that happens to be called "not".
                    Some(Tok::LBracket) => self.attr_expr(),
                    Some(Tok::Word(op)) if is_operator(op) => self.attr_expr(),
                    _ => {
                        self.i += 1;
                        Err(self.expected("\"(\" (write: not (filter))"))
                    }
                }
            }
            Some(Tok::Word(_)) => self.attr_expr(),
            _ => Err(self.expected("an attribute name, \"(\" or \"not (\"")),
        }
    }

    fn group(&mut self) -> Result<Filter, FilterError> {
        let open = self.pos();
        self.i += 1;
        self.enter(open)?;
        let inner = self.or_expr()?;
        let what = format!("\"and\", \"or\" or \")\" (to match the \"(\" at position {open})");
        self.close(Tok::RParen, &what)?;
        Ok(inner)
    }

    /// Consumes the attribute-path word at the cursor.
    fn attr_path(&mut self) -> Result<(AttrPath, String), FilterError> {
        let Some(Token {
            tok: Tok::Word(word),
            start,
            ..
        }) = self.toks.get(self.i)
        else {
            return Err(self.expected("an attribute name"));
        };
        let path = attr_path_at(word, *start)?;
        let word = word.clone();
        self.i += 1;
        Ok((path, word))
    }

    fn attr_expr(&mut self) -> Result<Filter, FilterError> {
        let (path, word) = self.attr_path()?;
        if self.peek() != Some(&Tok::LBracket) {
            return self.comparison(path);
        }
        let inner = self.bracket(&path, &word)?;
        let sub_pos = self.pos();
        let Some(sub) = self.adjacent_sub()? else {
            return Ok(Filter::ValuePath(path, Box::new(inner)));
        };
        // Entra ID sends `emails[type eq "work"].value eq "x"`; it means the element matches both.
        let has_op = self.peek_word().is_some_and(is_operator);
        if !has_op {
            return Err(FilterError(format!(
                "\"{word}[...].{sub}\" at position {sub_pos}: a sub-attribute after \"]\" is only allowed \
                 in PATCH paths; in a filter put the comparison inside the brackets, \
                 e.g. {word}[{inner} and {sub} eq \"...\"]"
            )));
        }
        let cmp = self.comparison(AttrPath {
            uri: None,
            name: sub,
            sub: None,
        })?;
        Ok(Filter::ValuePath(
            path,
            Box::new(Filter::And(Box::new(inner), Box::new(cmp))),
        ))
    }

    /// `pr`, or an operator and its value, after `path`.
    fn comparison(&mut self, path: AttrPath) -> Result<Filter, FilterError> {
        let word = self.peek_word().unwrap_or_default();
        if word.eq_ignore_ascii_case("pr") {
            self.i += 1;
            return Ok(Filter::Present(path));
        }
        let Some(op) = CompareOp::from_keyword(word) else {
            return Err(self.expected(OPERATOR));
        };
        self.i += 1;
        let pos = self.pos();
        let value = match self.peek() {
            Some(Tok::Str(s)) => Value::String(s.clone()),
            Some(Tok::Word(w)) => literal(w).ok_or_else(|| self.expected(VALUE))?,
            _ => return Err(self.expected(VALUE)),
        };
        self.i += 1;
        // RFC 7644 §3.4.2.2: ordering a boolean is an invalidFilter error; null has no order either.
        if !matches!(op, CompareOp::Eq | CompareOp::Ne) && (value.is_boolean() || value.is_null()) {
            return Err(FilterError(format!(
                "operator \"{op}\" cannot compare with {value} at position {pos}; \
                 true, false and null only work with eq and ne"
            )));
        }
        Ok(Filter::Compare(path, op, value))
    }

    /// `[ FILTER ]` after `path` (the cursor is on `[`); returns the inner filter.
    fn bracket(&mut self, path: &AttrPath, word: &str) -> Result<Filter, FilterError> {
        let open = self.pos();
        if path.sub.is_some() {
            return Err(FilterError(format!(
                "\"[\" at position {open} must follow a multi-valued attribute, but \"{word}\" \
                 names a sub-attribute"
            )));
        }
        if self.in_brackets {
            return Err(FilterError(format!(
                "nested value filters are not allowed: unexpected \"[\" at position {open}"
            )));
        }
        self.i += 1;
        self.enter(open)?;
        self.in_brackets = true;
        let inner = self.or_expr()?;
        self.in_brackets = false;
        let what = format!("\"and\", \"or\" or \"]\" (to match the \"[\" at position {open})");
        self.close(Tok::RBracket, &what)?;
        Ok(inner)
    }

    /// `.sub` touching the `]` just consumed: part of the path, not a separate token.
    fn adjacent_sub(&mut self) -> Result<Option<String>, FilterError> {
        let bracket_end = self
            .i
            .checked_sub(1)
            .and_then(|j| self.toks.get(j))
            .map(|t| t.end);
        let Some(Token {
            tok: Tok::Word(w),
            start,
            ..
        }) = self.toks.get(self.i)
        else {
            return Ok(None);
        };
        let Some(name) = w.strip_prefix('.').filter(|_| bracket_end == Some(*start)) else {
            return Ok(None);
        };
        if !is_attr_name(name) {
            let found = if name.is_empty() {
                "nothing".to_owned()
            } else {
                format!("\"{}\"", snippet(name.chars()))
            };
            return Err(FilterError(format!(
                "expected a sub-attribute name after \"].\" at position {}, found {found}",
                start + 1
            )));
        }
        let name = name.to_owned();
        self.i += 1;
        Ok(Some(name))
    }
}

fn is_operator(word: &str) -> bool {
    word.eq_ignore_ascii_case("pr") || CompareOp::from_keyword(word).is_some()
}

/// `true`, `false`, `null` (any case) or a JSON number.
fn literal(word: &str) -> Option<Value> {
    match word.to_ascii_lowercase().as_str() {
        "true" => Some(Value::Bool(true)),
        "false" => Some(Value::Bool(false)),
        "null" => Some(Value::Null),
        _ if word.starts_with(|c: char| c == '-' || c.is_ascii_digit()) => {
            match serde_json::from_str::<Value>(word).ok()? {
                // serde_json's default float parser can be off by one ulp, so a printed filter
                // would not read back the same; the standard library rounds correctly.
                Value::Number(n) if n.is_f64() => word
                    .parse::<f64>()
                    .ok()
                    .and_then(serde_json::Number::from_f64),
                Value::Number(n) => Some(n),
                _ => None,
            }
            .map(Value::Number)
        }
        _ => None,
    }
}

/// Parses a `filter=` expression.
pub fn parse_filter(input: &str) -> Result<Filter, FilterError> {
    let mut p = Parser::new(input, "filter")?;
    let filter = p.or_expr()?;
    p.finish("\"and\", \"or\" or end of filter")?;
    fits_when_printed(&filter, "filter")?;
    Ok(filter)
}

/// Parses a PATCH operation's `path`.
pub fn parse_patch_path(input: &str) -> Result<PatchPath, FilterError> {
    let mut p = Parser::new(input, "PATCH path")?;
    let (attr, word) = p.attr_path()?;
    if p.peek() != Some(&Tok::LBracket) {
        p.finish("\"[\" or end of PATCH path")?;
        return Ok(PatchPath {
            attr,
            value_filter: None,
            sub: None,
        });
    }
    let filter = p.bracket(&attr, &word)?;
    let sub = p.adjacent_sub()?;
    p.finish("end of PATCH path")?;
    let path = PatchPath {
        attr,
        value_filter: Some(filter),
        sub,
    };
    fits_when_printed(&path, "PATCH path")?;
    Ok(path)
}

/// The canonical text can be longer than the input (`1E9` prints as `1000000000.0`, `a eq"x"` as
/// `a eq "x"`). Refusing what would print past `MAX_LEN` keeps "print, then parse" the identity
/// for everything the parser accepts.
fn fits_when_printed(parsed: &dyn fmt::Display, what: &str) -> Result<(), FilterError> {
    struct Count(usize);
    impl fmt::Write for Count {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            self.0 += s.chars().count();
            Ok(())
        }
    }
    let mut count = Count(0);
    fmt::write(&mut count, format_args!("{parsed}"))
        .map_err(|_| FilterError(format!("{what} cannot be written back canonically")))?;
    if count.0 > MAX_LEN {
        return Err(FilterError(format!(
            "{what} is {} characters long once written canonically (numbers in full, one space \
             between words); the maximum is {MAX_LEN}",
            count.0
        )));
    }
    Ok(())
}

/// Parses one entry of `attributes=` / `excludedAttributes=`.
pub fn parse_attr_path(input: &str) -> Result<AttrPath, FilterError> {
    let mut p = Parser::new(input, "attribute path")?;
    let (path, _) = p.attr_path()?;
    p.finish("end of attribute path")?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    const CORE_USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

    fn path(name: &str) -> AttrPath {
        AttrPath {
            uri: None,
            name: name.into(),
            sub: None,
        }
    }

    fn sub_path(name: &str, sub: &str) -> AttrPath {
        AttrPath {
            sub: Some(sub.into()),
            ..path(name)
        }
    }

    fn cmp(name: &str, op: CompareOp, value: Value) -> Filter {
        Filter::Compare(path(name), op, value)
    }

    fn and(a: Filter, b: Filter) -> Filter {
        Filter::And(Box::new(a), Box::new(b))
    }

    fn or(a: Filter, b: Filter) -> Filter {
        Filter::Or(Box::new(a), Box::new(b))
    }

    fn parse(s: &str) -> Filter {
        parse_filter(s).unwrap_or_else(|e| panic!("{s:?} should parse: {e}"))
    }

    fn error(s: &str) -> String {
        match parse_filter(s) {
            Ok(f) => panic!("{s:?} should not parse, got {f:?}"),
            Err(e) => e.0,
        }
    }

    fn patch_error(s: &str) -> String {
        match parse_patch_path(s) {
            Ok(p) => panic!("{s:?} should not parse, got {p:?}"),
            Err(e) => e.0,
        }
    }

    // --- parsing ---

    #[test]
    fn every_comparison_operator_parses() {
        for &op in CompareOp::ALL {
            let f = parse(&format!("userName {op} \"x\""));
            assert_eq!(f, cmp("userName", op, json!("x")));
        }
        assert_eq!(parse("title pr"), Filter::Present(path("title")));
    }

    #[test]
    fn and_binds_tighter_than_or() {
        let one = || json!(1);
        assert_eq!(
            parse("a eq 1 or b eq 2 and c eq 3"),
            or(
                cmp("a", CompareOp::Eq, one()),
                and(
                    cmp("b", CompareOp::Eq, json!(2)),
                    cmp("c", CompareOp::Eq, json!(3))
                )
            )
        );
    }

    #[test]
    fn and_and_or_are_left_associative() {
        let (a, b, c) = (
            || Filter::Present(path("a")),
            || Filter::Present(path("b")),
            || Filter::Present(path("c")),
        );
        assert_eq!(parse("a pr or b pr or c pr"), or(or(a(), b()), c()));
        assert_eq!(parse("a pr and b pr and c pr"), and(and(a(), b()), c()));
    }

    #[test]
    fn not_negates_a_parenthesised_filter() {
        assert_eq!(
            parse("not (a pr or b pr)"),
            Filter::Not(Box::new(or(
                Filter::Present(path("a")),
                Filter::Present(path("b"))
            )))
        );
        assert_eq!(
            parse("not(a pr)"),
            Filter::Not(Box::new(Filter::Present(path("a"))))
        );
    }

    #[test]
    fn an_attribute_called_not_is_still_an_attribute() {
        assert_eq!(parse("not pr"), Filter::Present(path("not")));
    }

    #[test]
    fn nested_parentheses_group_and_override_precedence() {
        assert_eq!(
            parse("((a pr or b pr)) and ((c pr))"),
            and(
                or(Filter::Present(path("a")), Filter::Present(path("b"))),
                Filter::Present(path("c"))
            )
        );
    }

    #[test]
    fn operators_keywords_and_literals_are_case_insensitive() {
        assert_eq!(
            parse("a EQ True And b Pr OR NOT (c Ne NULL)"),
            or(
                and(
                    cmp("a", CompareOp::Eq, json!(true)),
                    Filter::Present(path("b"))
                ),
                Filter::Not(Box::new(cmp("c", CompareOp::Ne, Value::Null)))
            )
        );
        assert_eq!(parse("a eq FALSE"), cmp("a", CompareOp::Eq, json!(false)));
    }

    #[test]
    fn tabs_and_runs_of_spaces_separate_tokens() {
        assert_eq!(
            parse("\t userName \t eq   \"x\"  "),
            cmp("userName", CompareOp::Eq, json!("x"))
        );
        assert_eq!(
            parse("userName eq\"x\""),
            cmp("userName", CompareOp::Eq, json!("x"))
        );
    }

    #[test]
    fn string_escapes_are_decoded() {
        assert_eq!(
            parse(r#"a eq "say \"hi\" \\ \u00e9\ud83d\ude00 \n""#),
            cmp("a", CompareOp::Eq, json!("say \"hi\" \\ é😀 \n"))
        );
        assert_eq!(
            parse(r#"a co ":[x](""#),
            cmp("a", CompareOp::Co, json!(":[x]("))
        );
    }

    #[test]
    fn numbers_parse_as_json_numbers() {
        assert_eq!(parse("n eq 42"), cmp("n", CompareOp::Eq, json!(42)));
        assert_eq!(parse("n gt -7"), cmp("n", CompareOp::Gt, json!(-7)));
        assert_eq!(parse("n le 1.5"), cmp("n", CompareOp::Le, json!(1.5)));
        assert_eq!(
            parse("n lt -2.5e3"),
            cmp("n", CompareOp::Lt, json!(-2500.0))
        );
    }

    #[test]
    fn floats_are_read_correctly_rounded_so_they_print_back_the_same() {
        // serde_json's default float parser reads this one ulp low.
        let f = parse("n eq 1.5603112279283637e+31");
        assert_eq!(f, cmp("n", CompareOp::Eq, json!(1.5603112279283637e31)));
        assert_eq!(parse(&f.to_string()), f);
    }

    #[test]
    fn urn_qualified_paths_split_at_the_last_colon() {
        let f = parse(&format!("{CORE_USER}:name.givenName eq \"Barbara\""));
        let expected = AttrPath {
            uri: Some(CORE_USER.into()),
            name: "name".into(),
            sub: Some("givenName".into()),
        };
        assert_eq!(
            f,
            Filter::Compare(expected, CompareOp::Eq, json!("Barbara"))
        );
        let f = parse(&format!("{ENTERPRISE}:manager.value pr"));
        let expected = AttrPath {
            uri: Some(ENTERPRISE.into()),
            name: "manager".into(),
            sub: Some("value".into()),
        };
        assert_eq!(f, Filter::Present(expected));
    }

    #[test]
    fn dollar_ref_is_an_attribute_name() {
        assert_eq!(
            parse("members.$ref pr"),
            Filter::Present(sub_path("members", "$ref"))
        );
        assert_eq!(parse_attr_path("$ref"), Ok(path("$ref")));
    }

    #[test]
    fn value_paths_hold_a_full_filter() {
        assert_eq!(
            parse(r#"emails[type eq "work" and value co "@x.com" or primary eq true]"#),
            Filter::ValuePath(
                path("emails"),
                Box::new(or(
                    and(
                        cmp("type", CompareOp::Eq, json!("work")),
                        cmp("value", CompareOp::Co, json!("@x.com"))
                    ),
                    cmp("primary", CompareOp::Eq, json!(true))
                ))
            )
        );
    }

    #[test]
    fn value_path_followed_by_sub_comparison_becomes_a_conjunction() {
        assert_eq!(
            parse(r#"emails[type eq "work"].value eq "x" and active eq true"#),
            and(
                Filter::ValuePath(
                    path("emails"),
                    Box::new(and(
                        cmp("type", CompareOp::Eq, json!("work")),
                        cmp("value", CompareOp::Eq, json!("x"))
                    ))
                ),
                cmp("active", CompareOp::Eq, json!(true))
            )
        );
    }

    #[test]
    fn value_path_sub_attribute_without_comparison_is_rejected() {
        let msg = error(r#"emails[type eq "work"].value"#);
        assert!(msg.contains("only allowed in PATCH paths"), "{msg}");
        assert!(msg.contains("position 22"), "{msg}");
    }

    #[test]
    fn parse_attr_path_accepts_plain_sub_and_urn_forms() {
        assert_eq!(parse_attr_path(" userName "), Ok(path("userName")));
        assert_eq!(
            parse_attr_path("name.familyName"),
            Ok(sub_path("name", "familyName"))
        );
        let p = parse_attr_path(&format!("{ENTERPRISE}:department")).unwrap();
        assert_eq!(
            (p.uri.as_deref(), p.name.as_str()),
            (Some(ENTERPRISE), "department")
        );
        assert!(parse_attr_path("name.given.more").is_err());
        assert!(parse_attr_path("user name").is_err());
        assert!(parse_attr_path(ENTERPRISE).is_err());
    }

    // --- parse errors ---

    #[test]
    fn empty_input_is_an_error() {
        assert_eq!(error(""), "filter is empty");
        assert_eq!(error(" \t "), "filter is empty");
    }

    #[test]
    fn trailing_garbage_is_reported_with_its_position() {
        let msg = error(r#"userName eq "x" extra"#);
        assert!(
            msg.contains("position 16") && msg.contains("\"extra\""),
            "{msg}"
        );
    }

    #[test]
    fn unbalanced_parentheses_are_errors() {
        let msg = error("(a pr or b pr");
        assert!(msg.contains("\")\"") && msg.contains("position 0"), "{msg}");
        assert!(msg.contains("end of input"), "{msg}");
        let msg = error("a pr)");
        assert!(msg.contains("unbalanced \")\" at position 4"), "{msg}");
        let msg = error("()");
        assert!(msg.contains("position 1"), "{msg}");
    }

    #[test]
    fn unbalanced_brackets_are_errors() {
        let msg = error(r#"emails[type eq "work""#);
        assert!(msg.contains("\"]\"") && msg.contains("position 6"), "{msg}");
        let msg = error(r#"emails eq "x"]"#);
        assert!(msg.contains("unbalanced \"]\" at position 13"), "{msg}");
    }

    #[test]
    fn nested_value_filters_are_errors() {
        let msg = error(r#"emails[type[value eq "x"] pr]"#);
        assert!(
            msg.contains("nested") && msg.contains("position 11"),
            "{msg}"
        );
    }

    #[test]
    fn value_filter_on_a_sub_attribute_is_an_error() {
        let msg = error(r#"name.givenName[value eq "x"]"#);
        assert!(
            msg.contains("position 14") && msg.contains("name.givenName"),
            "{msg}"
        );
    }

    #[test]
    fn missing_comparison_value_is_an_error() {
        let msg = error("userName eq");
        assert_eq!(
            msg,
            "expected a value (a \"quoted string\", number, true, false or null) after \"eq\" \
             at position 11, found end of input"
        );
        let msg = error("userName eq bob");
        assert!(
            msg.contains("found \"bob\"") && msg.contains("position 12"),
            "{msg}"
        );
    }

    #[test]
    fn unknown_operator_is_an_error() {
        let msg = error(r#"userName like "x""#);
        assert_eq!(
            msg,
            "expected a comparison operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr) after \
             \"userName\" at position 9, found \"like\""
        );
    }

    #[test]
    fn unterminated_and_malformed_strings_are_errors() {
        let msg = error(r#"userName eq "bjensen"#);
        assert!(
            msg.contains("unterminated string starting at position 12"),
            "{msg}"
        );
        let msg = error(r#"userName eq "bad \q""#);
        assert!(
            msg.contains("invalid string literal at position 12"),
            "{msg}"
        );
    }

    #[test]
    fn booleans_and_null_cannot_be_ordered() {
        let msg = error("active gt true");
        assert!(
            msg.contains("\"gt\"") && msg.contains("position 10"),
            "{msg}"
        );
        assert!(parse_filter("x co null").is_err());
    }

    #[test]
    fn bad_attribute_names_are_errors() {
        let msg = error("1abc pr");
        assert!(msg.contains("\"1abc\" at position 0"), "{msg}");
        assert!(parse_filter("a.b.c pr").is_err());
        assert!(parse_filter(":a pr").is_err());
        assert!(parse_filter("urn:x: pr").is_err());
        let msg = error(&format!("{ENTERPRISE} pr"));
        assert!(msg.contains("schema URN"), "{msg}");
    }

    #[test]
    fn not_without_parentheses_is_an_error() {
        let msg = error(r#"not userName eq "x""#);
        assert!(msg.contains("after \"not\" at position 4"), "{msg}");
    }

    #[test]
    fn dangling_logical_operator_is_an_error() {
        let msg = error("a pr and");
        assert!(msg.contains("after \"and\" at position 8"), "{msg}");
    }

    #[test]
    fn input_whose_canonical_text_is_overlong_is_rejected() {
        let compact = vec!["a eq 1E15"; 300].join(" or ");
        assert!(compact.len() < MAX_LEN);
        let msg = error(&compact);
        assert!(
            msg.contains("once written canonically") && msg.contains("maximum is 4096"),
            "{msg}"
        );
        let path = format!("emails[{}]", vec!["a eq 1E15"; 300].join(" or "));
        assert!(parse_patch_path(&path).is_err());
    }

    #[test]
    fn overlong_input_is_rejected() {
        let long = format!("userName eq \"{}\"", "x".repeat(MAX_LEN));
        assert!(error(&long).contains("maximum is 4096"));
    }

    #[test]
    fn deep_nesting_is_rejected_without_overflowing_the_stack() {
        assert!(parse_filter(&"(".repeat(10_000)).is_err());
        let deep = format!("{}a pr{}", "(".repeat(2000), ")".repeat(2000));
        assert!(error(&deep).contains("deeper than 64"));
        let nots = format!("{}a pr{}", "not (".repeat(100), ")".repeat(100));
        assert!(error(&nots).contains("deeper than 64"));
        let ok = format!("{}a pr{}", "(".repeat(64), ")".repeat(64));
        assert_eq!(parse(&ok), Filter::Present(path("a")));
    }

    #[test]
    fn long_flat_chains_parse_and_print_back() {
        let chain = vec!["a pr"; 400].join(" and ");
        let f = parse(&chain);
        assert_eq!(parse(&f.to_string()), f);
    }

    // --- display ---

    #[test]
    fn display_round_trips_through_the_parser() {
        let filters = [
            r#"userName eq "bjensen""#,
            r#"name.familyName co "O'Malley""#,
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
            "title pr",
            r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
            r#"title pr and userType eq "Employee""#,
            r#"title pr or userType eq "Intern""#,
            r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
            r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
            r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
            r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
            "a eq 1 or (b eq 2 or c eq 3)",
            "a eq 1 and (b eq 2 and c eq 3)",
            "(a pr or b pr) and c pr",
            r#"x eq "tab\t \"quote\" \\ \u00e9" and n gt -1.5e3 and b eq false and c eq null"#,
            r#"emails[type eq "work"].value ew "@x.com""#,
            "members.$ref pr",
        ];
        for s in filters {
            let once = parse(s);
            let text = once.to_string();
            assert_eq!(parse(&text), once, "{s} printed as {text}");
        }
    }

    #[test]
    fn display_prints_canonical_text() {
        let f = parse(r#"(A EQ 1 Or B Pr) AND NOT(C Sw "x") and emails[Type eq "work"]"#);
        assert_eq!(
            f.to_string(),
            r#"(A eq 1 or B pr) and not (C sw "x") and emails[Type eq "work"]"#
        );
        assert_eq!(
            parse(&format!("{ENTERPRISE}:manager.value pr")).to_string(),
            format!("{ENTERPRISE}:manager.value pr")
        );
    }

    // --- PATCH paths ---

    #[test]
    fn patch_path_accepts_plain_and_sub_attributes() {
        let p = parse_patch_path("  active  ").unwrap();
        assert_eq!(
            (p.attr, p.value_filter, p.sub),
            (path("active"), None, None)
        );
        let p = parse_patch_path("name.givenName").unwrap();
        assert_eq!(p.attr, sub_path("name", "givenName"));
    }

    #[test]
    fn patch_path_accepts_urn_qualified_attributes() {
        let p = parse_patch_path(&format!("{ENTERPRISE}:department")).unwrap();
        assert_eq!(p.attr.uri.as_deref(), Some(ENTERPRISE));
        assert_eq!((p.attr.name.as_str(), p.attr.sub), ("department", None));
        let p = parse_patch_path(&format!("{ENTERPRISE}:manager.value")).unwrap();
        assert_eq!(p.attr.uri.as_deref(), Some(ENTERPRISE));
        assert_eq!(p.attr.sub.as_deref(), Some("value"));
        let p = parse_patch_path(&format!("{CORE_USER}:name.givenName")).unwrap();
        assert_eq!(p.attr.uri.as_deref(), Some(CORE_USER));
    }

    #[test]
    fn patch_path_with_value_filter() {
        let p = parse_patch_path(r#"members[value eq "2819c223-7f76-453a-919d-413861904646"]"#)
            .unwrap();
        assert_eq!(p.attr, path("members"));
        assert_eq!(
            p.value_filter,
            Some(cmp(
                "value",
                CompareOp::Eq,
                json!("2819c223-7f76-453a-919d-413861904646")
            ))
        );
        assert_eq!(p.sub, None);
    }

    #[test]
    fn patch_path_with_value_filter_and_sub_attribute() {
        let p =
            parse_patch_path(r#"emails[type eq "work" and value ew "example.com"].value"#).unwrap();
        assert_eq!(p.attr, path("emails"));
        assert_eq!(
            p.value_filter,
            Some(and(
                cmp("type", CompareOp::Eq, json!("work")),
                cmp("value", CompareOp::Ew, json!("example.com"))
            ))
        );
        assert_eq!(p.sub.as_deref(), Some("value"));
        let p = parse_patch_path(r#"addresses[type eq "work"].streetAddress"#).unwrap();
        assert_eq!(
            (p.attr, p.sub.as_deref()),
            (path("addresses"), Some("streetAddress"))
        );
    }

    #[test]
    fn patch_path_colons_inside_the_filter_do_not_split_the_uri() {
        let p = parse_patch_path(&format!("{CORE_USER}:emails[value eq \"a:b:c\"].value")).unwrap();
        assert_eq!(p.attr.uri.as_deref(), Some(CORE_USER));
        assert_eq!(p.attr.name, "emails");
        assert_eq!(
            p.value_filter,
            Some(cmp("value", CompareOp::Eq, json!("a:b:c")))
        );
    }

    #[test]
    fn patch_path_errors_name_the_problem() {
        let msg = patch_error("members[");
        assert!(
            msg.contains("position 8") && msg.contains("end of input"),
            "{msg}"
        );
        let msg = patch_error(r#"[value eq "x"]"#);
        assert!(msg.contains("attribute name at position 0"), "{msg}");
        let msg = patch_error(r#"emails[type eq "work"]."#);
        assert!(
            msg.contains("sub-attribute name") && msg.contains("position 23"),
            "{msg}"
        );
        assert_eq!(patch_error(""), "PATCH path is empty");
        let msg = patch_error(ENTERPRISE);
        assert!(msg.contains("schema URN"), "{msg}");
        let msg = patch_error(r#"members[value eq "x"] extra"#);
        assert!(msg.contains("\"extra\""), "{msg}");
        let msg = patch_error(r#"emails[type eq "work"].value.display"#);
        assert!(msg.contains("position 23"), "{msg}");
        assert!(parse_patch_path("user name").is_err());
        assert!(parse_patch_path(r#"emails.value[type eq "work"]"#).is_err());
    }
}
