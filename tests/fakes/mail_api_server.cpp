// SPDX-License-Identifier: MIT
#include "tests/fakes/mail_api_server.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "common/crypto/crypto.hpp"

namespace multivio::fakes {

namespace {

using nlohmann::json;

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string media_type(const httplib::Request& req) {
  const std::string value = req.get_header_value("Content-Type");
  std::string type(trim(std::string_view(value).substr(0, value.find(';'))));
  std::transform(type.begin(), type.end(), type.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return type;
}

// "Name <a@b>" or "a@b" with something on both sides of one '@'.
bool valid_mailbox(std::string_view s) {
  const auto open = s.rfind('<');
  if (open != std::string_view::npos) {
    const auto close = s.find('>', open);
    if (close == std::string_view::npos) return false;
    s = s.substr(open + 1, close - open - 1);
  }
  s = trim(s);
  const auto at = s.find('@');
  return at != std::string_view::npos && at > 0 && at + 1 < s.size() && s.find('@', at + 1) == std::string_view::npos &&
         s.find_first_of(" \r\n,") == std::string_view::npos;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string form_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> parse_form(std::string_view body) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!body.empty()) {
    const auto amp = body.find('&');
    const std::string_view item = body.substr(0, amp);
    const auto eq = item.find('=');
    out.emplace_back(form_decode(item.substr(0, eq)),
                     eq == std::string_view::npos ? std::string() : form_decode(item.substr(eq + 1)));
    body = amp == std::string_view::npos ? std::string_view() : body.substr(amp + 1);
  }
  return out;
}

struct Answer {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::string error;  // set when refused
};

Answer refuse(int status, json body, std::string why) {
  return Answer{status, body.dump(), "application/json", std::move(why)};
}

std::string random_id() {
  const std::string h = crypto::random_hex(16);
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) + "-" + h.substr(20);
}

}  // namespace

std::optional<std::string> MailApiServer::Received::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) return v;
  }
  return std::nullopt;
}

struct MailApiServer::Impl {
  httplib::Server server;
  std::thread thread;
  int port = 0;

  mutable std::mutex mutex;
  std::string resend_key = kResendKey;
  std::string sendgrid_key = kSendgridKey;
  std::string mailgun_key = kMailgunKey;
  std::string mailgun_domain = kMailgunDomain;
  int fail_status = 0;
  std::string fail_body;
  std::size_t fail_count = 0;
  std::vector<Mail> mails;
  std::vector<Received> log;

  // A scripted failure for a request that passed every check, if any is due.
  std::optional<Answer> scripted() {
    if (fail_count == 0) return std::nullopt;
    --fail_count;
    return Answer{fail_status, fail_body, json::accept(fail_body) ? "application/json" : "text/plain", "scripted"};
  }

  // https://resend.com/docs/api-reference/emails/send-email
  Answer resend(const httplib::Request& req, std::optional<Mail>& mail) {
    const std::string auth = req.get_header_value("Authorization");
    if (!auth.starts_with("Bearer ") || trim(auth.substr(7)).empty()) {
      return refuse(401, {{"statusCode", 401}, {"name", "missing_api_key"},
                          {"message", "Missing API key in the authorization header."}}, "missing key");
    }
    if (auth.substr(7) != resend_key) {
      return refuse(403, {{"statusCode", 403}, {"name", "invalid_api_key"}, {"message", "API key is invalid"}},
                    "wrong key");
    }
    if (req.get_header_value("User-Agent").empty()) {  // Resend's documented 403 (error 1010)
      return refuse(403, {{"statusCode", 403}, {"name", "forbidden"}, {"message", "Missing User-Agent header"}},
                    "no user agent");
    }
    const json body = json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object()) {
      return refuse(400, {{"statusCode", 400}, {"name", "validation_error"}, {"message", "Invalid JSON body"}},
                    "invalid JSON");
    }
    for (const char* field : {"from", "to", "subject"}) {
      if (!body.contains(field)) {
        return refuse(422, {{"statusCode", 422}, {"name", "missing_required_field"},
                            {"message", std::string("Missing `") + field + "` field."}},
                      std::string("missing ") + field);
      }
    }
    if (!body["from"].is_string() || !valid_mailbox(body["from"].get<std::string>())) {
      return refuse(422, {{"statusCode", 422}, {"name", "validation_error"},
                          {"message", "Invalid `from` field. The email address needs to follow the "
                                      "`email@example.com` or `Name <email@example.com>` format."}},
                    "invalid from");
    }
    Mail m{"resend", body["from"].get<std::string>(), {}, {}, {}};
    const json& to = body["to"];
    if (to.is_string()) {
      m.to.push_back(to.get<std::string>());
    } else if (to.is_array() && !to.empty() && to.size() <= 50) {
      for (const auto& item : to) {
        if (!item.is_string()) return refuse(422, {{"statusCode", 422}, {"name", "validation_error"},
                                                   {"message", "Invalid `to` field."}}, "invalid to");
        m.to.push_back(item.get<std::string>());
      }
    } else {
      return refuse(422, {{"statusCode", 422}, {"name", "validation_error"},
                          {"message", "Invalid `to` field. Use a string or an array of 1 to 50 addresses."}},
                    "invalid to");
    }
    if (std::any_of(m.to.begin(), m.to.end(), [](const std::string& a) { return !valid_mailbox(a); })) {
      return refuse(422, {{"statusCode", 422}, {"name", "validation_error"}, {"message", "Invalid `to` field."}},
                    "invalid to address");
    }
    if (!body["subject"].is_string()) {
      return refuse(422, {{"statusCode", 422}, {"name", "validation_error"}, {"message", "Invalid `subject` field."}},
                    "invalid subject");
    }
    m.subject = body["subject"].get<std::string>();
    const bool has_text = body.contains("text") && body["text"].is_string();
    const bool has_html = body.contains("html") && body["html"].is_string();
    if (!has_text && !has_html) {
      return refuse(422, {{"statusCode", 422}, {"name", "validation_error"},
                          {"message", "Missing `html` or `text` field."}}, "no content");
    }
    if (has_text) m.text = body["text"].get<std::string>();
    if (auto failure = scripted()) return *failure;
    mail = std::move(m);
    return Answer{200, json{{"id", random_id()}}.dump(), "application/json", ""};
  }

  // https://www.twilio.com/docs/sendgrid/api-reference/mail-send/mail-send
  Answer sendgrid(const httplib::Request& req, std::optional<Mail>& mail) {
    if (req.get_header_value("Authorization") != "Bearer " + sendgrid_key) {
      return refuse(401, {{"errors", {{{"message", "The provided authorization grant is invalid, expired, or revoked"},
                                       {"field", nullptr}, {"help", nullptr}}}}},
                    "bad key");
    }
    if (media_type(req) != "application/json") {
      return refuse(400, {{"errors", {{{"message", "Content-Type should be application/json."},
                                       {"field", nullptr}, {"help", nullptr}}}}},
                    "content type");
    }
    const json body = json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object()) {
      return refuse(400, {{"errors", {{{"message", "Bad Request"}, {"field", nullptr}, {"help", nullptr}}}}},
                    "invalid JSON");
    }
    json errors = json::array();
    const auto error = [&](const std::string& field, const std::string& message) {
      errors.push_back({{"message", message}, {"field", field}, {"help", nullptr}});
    };
    Mail m{"sendgrid", {}, {}, {}, {}};
    const json* personalizations = body.contains("personalizations") ? &body["personalizations"] : nullptr;
    bool every_personalization_has_subject = personalizations && personalizations->is_array();
    if (!personalizations || !personalizations->is_array() || personalizations->empty()) {
      error("personalizations", "The personalizations field is required and must have at least one personalization.");
    } else {
      for (std::size_t i = 0; i < personalizations->size(); ++i) {
        const json& p = (*personalizations)[i];
        const std::string at = "personalizations." + std::to_string(i);
        if (!p.is_object() || !p.contains("to") || !p["to"].is_array() || p["to"].empty()) {
          error(at + ".to", "The to array is required for all personalization objects, and must have at least one "
                            "email object with a valid email address.");
          every_personalization_has_subject = false;
          continue;
        }
        for (std::size_t j = 0; j < p["to"].size(); ++j) {
          const json& to = p["to"][j];
          if (!to.is_object() || !to.contains("email") || !to["email"].is_string() ||
              !valid_mailbox(to["email"].get<std::string>()) ||
              to["email"].get<std::string>().find('<') != std::string::npos) {
            error(at + ".to." + std::to_string(j) + ".email",
                  "Does not contain a valid address.");
          } else {
            m.to.push_back(to["email"].get<std::string>());
          }
        }
        if (!p.contains("subject") || !p["subject"].is_string()) every_personalization_has_subject = false;
      }
    }
    if (!body.contains("from") || !body["from"].is_object() || !body["from"].contains("email") ||
        !body["from"]["email"].is_string() || !valid_mailbox(body["from"]["email"].get<std::string>())) {
      error("from.email", "The from object must be provided for every email send. It is an object that requires "
                          "the email parameter, but may also contain a name parameter.");
    } else {
      m.from = body["from"]["email"].get<std::string>();
    }
    if (body.contains("subject") && body["subject"].is_string() && !body["subject"].get<std::string>().empty()) {
      m.subject = body["subject"].get<std::string>();
    } else if (!every_personalization_has_subject) {
      error("subject", "The subject is required. You can get around this requirement if you use a template with a "
                       "subject defined or if every personalization has a subject defined.");
    }
    const json* content = body.contains("content") ? &body["content"] : nullptr;
    if (!content || !content->is_array() || content->empty()) {
      error("content", "Unless a valid template_id is provided, the content parameter is required. There must be at "
                       "least one defined content block.");
    } else {
      for (std::size_t i = 0; i < content->size(); ++i) {
        const json& c = (*content)[i];
        if (!c.is_object() || !c.contains("type") || !c["type"].is_string() || !c.contains("value") ||
            !c["value"].is_string() || c["value"].get<std::string>().empty()) {
          error("content." + std::to_string(i), "The content value must be a string at least one character in length.");
        } else if (c["type"] == "text/plain") {
          if (i != 0) error("content." + std::to_string(i) + ".type", "If present, text/plain must be first.");
          m.text = c["value"].get<std::string>();
        }
      }
    }
    if (!errors.empty()) return refuse(400, {{"errors", errors}}, errors[0]["field"].get<std::string>());
    if (auto failure = scripted()) return *failure;
    mail = std::move(m);
    return Answer{202, "", "text/plain", ""};
  }

  // https://documentation.mailgun.com/docs/mailgun/api-reference/send/mailgun/messages
  Answer mailgun(const httplib::Request& req, const std::string& domain, std::optional<Mail>& mail) {
    if (req.get_header_value("Authorization") != "Basic " + crypto::base64_encode("api:" + mailgun_key)) {
      return Answer{401, "Forbidden", "text/plain", "bad key"};
    }
    if (domain != mailgun_domain) {
      return refuse(404, {{"message", "Domain not found: " + domain}}, "unknown domain");
    }
    std::vector<std::pair<std::string, std::string>> fields;
    const std::string type = media_type(req);
    if (type == "application/x-www-form-urlencoded") {
      fields = parse_form(req.body);
    } else if (req.is_multipart_form_data()) {
      for (const auto& [name, part] : req.files) fields.emplace_back(name, part.content);
    } else {
      return refuse(400, {{"message", "expected multipart/form-data or application/x-www-form-urlencoded"}},
                    "content type");
    }
    const auto values = [&](const std::string& name) {
      std::vector<std::string> out;
      for (const auto& [k, v] : fields) {
        if (k == name && !v.empty()) out.push_back(v);
      }
      return out;
    };
    Mail m{"mailgun", {}, {}, {}, {}};
    const auto from = values("from");
    if (from.empty()) return refuse(400, {{"message", "from parameter is missing"}}, "missing from");
    if (!valid_mailbox(from[0])) {
      return refuse(400, {{"message", "'from' parameter is not a valid address. please check documentation"}},
                    "invalid from");
    }
    m.from = from[0];
    for (const auto& to : values("to")) {
      // One "to" may hold several comma-separated addresses.
      std::string_view rest = to;
      while (!rest.empty()) {
        const auto comma = rest.find(',');
        const std::string address(trim(rest.substr(0, comma)));
        if (!valid_mailbox(address)) {
          return refuse(400, {{"message", "to parameter is not a valid address. please check documentation"}},
                        "invalid to");
        }
        m.to.push_back(address);
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      }
    }
    if (m.to.empty()) return refuse(400, {{"message", "to parameter is missing"}}, "missing to");
    const auto subject = values("subject");
    if (subject.empty()) return refuse(400, {{"message", "subject parameter is missing"}}, "missing subject");
    m.subject = subject[0];
    const auto text = values("text");
    if (text.empty() && values("html").empty() && values("amp-html").empty() && values("template").empty()) {
      return refuse(400, {{"message", "Need at least one of 'text', 'html', 'amp-html' or 'template' parameters "
                                      "specified"}},
                    "no content");
    }
    if (!text.empty()) m.text = text[0];
    if (auto failure = scripted()) return *failure;
    mail = std::move(m);
    return Answer{200,
                  json{{"id", "<" + crypto::random_hex(8) + "@" + domain + ">"}, {"message", "Queued. Thank you."}}
                      .dump(),
                  "application/json", ""};
  }

  void handle(const httplib::Request& req, httplib::Response& res) {
    Received rec;
    rec.method = req.method;
    rec.path = req.path;
    for (const auto& [k, v] : req.headers) rec.headers.emplace_back(k, v);
    rec.body = req.body;

    Answer answer;
    std::optional<Mail> mail;
    {
      std::lock_guard lock(mutex);
      const std::string prefix = "/v3/";
      const std::string suffix = "/messages";
      if (req.path == "/emails") {
        rec.provider = "resend";
      } else if (req.path == "/v3/mail/send") {
        rec.provider = "sendgrid";
      } else if (req.path.starts_with(prefix) && req.path.ends_with(suffix) &&
                 req.path.size() > prefix.size() + suffix.size() &&
                 req.path.find('/', prefix.size()) == req.path.size() - suffix.size()) {
        rec.provider = "mailgun";
      }
      if (rec.provider.empty()) {
        answer = refuse(404, {{"message", "not found"}}, "unknown path");
      } else if (req.method != "POST") {
        answer = refuse(405, {{"message", "method not allowed"}}, "method " + req.method);
      } else if (rec.provider == "resend") {
        answer = resend(req, mail);
      } else if (rec.provider == "sendgrid") {
        answer = sendgrid(req, mail);
      } else {
        const std::string domain = req.path.substr(prefix.size(), req.path.size() - prefix.size() - suffix.size());
        answer = mailgun(req, domain, mail);
      }
      rec.status = answer.status;
      rec.error = answer.error;
      log.push_back(std::move(rec));
      if (mail) mails.push_back(std::move(*mail));
    }
    res.status = answer.status;
    if (!answer.body.empty() || answer.status != 202) res.set_content(answer.body, answer.content_type.c_str());
  }
};

MailApiServer::MailApiServer() : impl_(std::make_unique<Impl>()) {
  Impl& impl = *impl_;
  auto handler = [&impl](const httplib::Request& req, httplib::Response& res) { impl.handle(req, res); };
  impl.server.Get(".*", handler);
  impl.server.Post(".*", handler);
  impl.server.Put(".*", handler);
  impl.server.Delete(".*", handler);
  impl.server.set_keep_alive_timeout(1);
  impl.server.set_tcp_nodelay(true);
  impl.port = impl.server.bind_to_any_port("127.0.0.1");
  if (impl.port <= 0) throw std::runtime_error("mail API fake: cannot bind 127.0.0.1");
  impl.thread = std::thread([&impl] { impl.server.listen_after_bind(); });
  while (!impl.server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds{1});
}

MailApiServer::~MailApiServer() { stop(); }

void MailApiServer::stop() {
  if (!impl_->thread.joinable()) return;
  impl_->server.stop();
  impl_->thread.join();
}

std::string MailApiServer::base_url() const { return "http://127.0.0.1:" + std::to_string(impl_->port); }

void MailApiServer::set_resend_key(std::string key) {
  std::lock_guard lock(impl_->mutex);
  impl_->resend_key = std::move(key);
}

void MailApiServer::set_sendgrid_key(std::string key) {
  std::lock_guard lock(impl_->mutex);
  impl_->sendgrid_key = std::move(key);
}

void MailApiServer::set_mailgun(std::string domain, std::string key) {
  std::lock_guard lock(impl_->mutex);
  impl_->mailgun_domain = std::move(domain);
  impl_->mailgun_key = std::move(key);
}

void MailApiServer::fail_next(int status, std::string body, std::size_t count) {
  std::lock_guard lock(impl_->mutex);
  impl_->fail_status = status;
  impl_->fail_body = std::move(body);
  impl_->fail_count = count;
}

std::vector<MailApiServer::Mail> MailApiServer::mails() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->mails;
}

std::vector<MailApiServer::Received> MailApiServer::received() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->log;
}

std::size_t MailApiServer::count() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->log.size();
}

}  // namespace multivio::fakes
