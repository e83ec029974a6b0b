// SPDX-License-Identifier: MIT
#include "common/platforms/linkedin/wire.hpp"

#include <nlohmann/json.hpp>

#include "common/oauth/form.hpp"
#include "common/platforms/settings.hpp"

namespace multivio::platforms::linkedin {

namespace {

using Json = nlohmann::json;

Json parse_object(std::string_view body, std::string_view what) {
  Json j = Json::parse(body, nullptr, false);
  if (!j.is_object()) throw_permanent("linkedin: " + std::string(what) + ": the answer is not a JSON object");
  return j;
}

const Json& value_of(const Json& j, std::string_view what) {
  const auto it = j.find("value");
  if (it == j.end() || !it->is_object()) throw_permanent("linkedin: " + std::string(what) + ": no value in the answer");
  return *it;
}

bool token_code(const ServiceError& e) {
  return e.service_code == 65600 || e.service_code == 65601 || e.service_code == 65602 ||
         e.code == "REVOKED_ACCESS_TOKEN" || e.code == "EXPIRED_ACCESS_TOKEN" || e.code == "INVALID_ACCESS_TOKEN";
}

}  // namespace

std::string escape_little_text(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for (const char c : text) {
    if (k_reserved.find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

std::string post_body(const PostParams& params) {
  Json body = {{"author", params.author},
               {"commentary", escape_little_text(params.text)},
               {"visibility", "PUBLIC"},
               {"distribution",
                {{"feedDistribution", "MAIN_FEED"},
                 {"targetEntities", Json::array()},
                 {"thirdPartyDistributionChannels", Json::array()}}},
               {"lifecycleState", "PUBLISHED"},
               {"isReshareDisabledByAuthor", false}};
  const auto media = [](const std::string& id, const std::string& alt) {
    Json m = {{"id", id}};
    if (!alt.empty()) m["altText"] = alt;
    return m;
  };
  if (!params.video.empty()) {
    body["content"] = {{"media", media(params.video, "")}};
  } else if (params.images.size() == 1) {
    body["content"] = {{"media", media(params.images[0].urn, params.images[0].alt)}};
  } else if (params.images.size() > 1) {
    Json images = Json::array();
    for (const auto& image : params.images) images.push_back(media(image.urn, image.alt));
    body["content"] = {{"multiImage", {{"images", std::move(images)}}}};
  }
  return body.dump();
}

std::string image_init_body(std::string_view owner) {
  return Json{{"initializeUploadRequest", {{"owner", owner}}}}.dump();
}

std::string video_init_body(std::string_view owner, std::uint64_t file_size) {
  return Json{{"initializeUploadRequest",
               {{"owner", owner}, {"fileSizeBytes", file_size}, {"uploadCaptions", false}, {"uploadThumbnail", false}}}}
      .dump();
}

std::string video_finalize_body(std::string_view video, std::string_view upload_token,
                                const std::vector<std::string>& etags) {
  return Json{{"finalizeUploadRequest", {{"video", video}, {"uploadToken", upload_token}, {"uploadedPartIds", etags}}}}
      .dump();
}

ImageUpload parse_image_upload(std::string_view body) {
  const Json j = parse_object(body, "image upload");
  const Json& v = value_of(j, "image upload");
  ImageUpload out{json_string(v, "uploadUrl"), json_string(v, "image")};
  if (out.upload_url.empty() || out.image.empty()) throw_permanent("linkedin: image upload: no uploadUrl or image URN");
  return out;
}

VideoUpload parse_video_upload(std::string_view body, std::uint64_t file_size) {
  const Json j = parse_object(body, "video upload");
  const Json& v = value_of(j, "video upload");
  VideoUpload out;
  out.video = json_string(v, "video");
  out.upload_token = json_string(v, "uploadToken");
  if (out.video.empty()) throw_permanent("linkedin: video upload: no video URN in the answer");
  const auto it = v.find("uploadInstructions");
  if (it == v.end() || !it->is_array() || it->empty()) {
    throw_permanent("linkedin: video upload: no uploadInstructions in the answer");
  }
  std::uint64_t next = 0;
  for (const auto& part : *it) {
    if (!part.is_object() || !part.contains("firstByte") || !part.contains("lastByte") ||
        !part["firstByte"].is_number_unsigned() || !part["lastByte"].is_number_unsigned()) {
      throw_permanent("linkedin: video upload: an upload instruction has no byte range");
    }
    UploadPart p{json_string(part, "uploadUrl"), part["firstByte"].get<std::uint64_t>(),
                 part["lastByte"].get<std::uint64_t>()};
    if (p.url.empty() || p.first_byte != next || p.last_byte < p.first_byte || p.last_byte >= file_size) {
      throw_permanent("linkedin: video upload: the upload instructions do not cover the file's " +
                      std::to_string(file_size) + " bytes in order");
    }
    next = p.last_byte + 1;
    out.parts.push_back(std::move(p));
  }
  if (next != file_size) {
    throw_permanent("linkedin: video upload: the upload instructions cover " + std::to_string(next) + " of " +
                    std::to_string(file_size) + " bytes");
  }
  return out;
}

VideoStatus parse_video_status(std::string_view body) {
  const Json j = parse_object(body, "video status");
  VideoStatus s{json_string(j, "status"), {}};
  if (const auto it = j.find("processingFailureReason"); it != j.end()) {
    s.failure = it->is_string() ? it->get<std::string>() : it->dump();
  }
  if (s.status.empty()) throw_permanent("linkedin: video status: no status in the answer");
  return s;
}

Member parse_userinfo(std::string_view body) {
  const Json j = parse_object(body, "userinfo");
  Member m{json_string(j, "sub"), json_string(j, "name")};
  if (m.sub.empty()) throw_permanent("linkedin: userinfo: no sub (member id) in the answer");
  return m;
}

std::string parse_organization_name(std::string_view body) {
  const Json j = Json::parse(body, nullptr, false);
  return j.is_object() ? json_string(j, "localizedName") : std::string();
}

std::optional<std::string> created_post_urn(const http::Response& response) {
  const auto id = response.header("x-restli-id");
  if (!id) return std::nullopt;
  // Some gateways percent-encode the header value.
  std::string urn = oauth::percent_decode(*id, false).value_or(*id);
  if (!urn.starts_with("urn:li:")) return std::nullopt;
  return urn;
}

std::optional<ServiceError> parse_error(std::string_view body) {
  const Json j = Json::parse(body, nullptr, false);
  if (!j.is_object() || (!j.contains("message") && !j.contains("serviceErrorCode"))) return std::nullopt;
  ServiceError e;
  if (const auto it = j.find("status"); it != j.end() && it->is_number_integer()) e.status = it->get<int>();
  if (const auto it = j.find("serviceErrorCode"); it != j.end() && it->is_number_integer()) {
    e.service_code = it->get<long long>();
  }
  e.code = json_string(j, "code");
  e.message = json_string(j, "message");
  return e;
}

Error error_for(const http::Response& response, std::string_view context) {
  const Error base = http::classify(response, context);
  const auto envelope = parse_error(response.body);
  if (!envelope || envelope->message.empty()) {
    if (response.status != 401 && response.status != 426) return base;
  }
  const int status = response.status;
  std::string message = std::string(context) + ": HTTP " + std::to_string(status);
  const std::string said = envelope ? envelope->message : std::string();
  ErrorKind kind = base.kind();
  if (status == 401 || (envelope && token_code(*envelope))) {
    kind = ErrorKind::auth;
    message += ": " + (said.empty() ? std::string("the access token was refused") : said) +
               "; re-link it with 'multivio account add linkedin --oauth --author ...'";
  } else if (status == 426) {
    kind = ErrorKind::permanent;
    message += ": " + (said.empty() ? std::string("this API version is not served") : said) +
               " (set platforms.linkedin.api_version to a current YYYYMM)";
  } else {
    message += ": " + said;
  }
  Error error(kind, std::move(message));
  error.http_status = status;
  error.retry_after = base.retry_after;
  return error;
}

bool is_person(std::string_view author) {
  return author.starts_with(k_person_prefix) && author.size() > k_person_prefix.size();
}

bool is_organization(std::string_view author) {
  return author.starts_with(k_organization_prefix) && author.size() > k_organization_prefix.size();
}

std::string urn_id(std::string_view urn) {
  const auto colon = urn.rfind(':');
  return std::string(colon == std::string_view::npos ? urn : urn.substr(colon + 1));
}

std::string post_url(std::string_view urn) { return "https://www.linkedin.com/feed/update/" + std::string(urn); }

}  // namespace multivio::platforms::linkedin
