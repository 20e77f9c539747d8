#include "caf_mcp/messages/protocol.hpp"

#include "caf/actor_system_config.hpp"

namespace caf_mcp {

void register_types(caf::actor_system_config& cfg) {
  add_error_category(cfg);
  cfg.add_message_type<request_id>("caf_mcp::request_id");
  cfg.add_message_type<implementation>("caf_mcp::implementation");
  cfg.add_message_type<client_capabilities>("caf_mcp::client_capabilities");
  cfg.add_message_type<server_capabilities>("caf_mcp::server_capabilities");
  cfg.add_message_type<initialize_result>("caf_mcp::initialize_result");
  cfg.add_message_type<tool>("caf_mcp::tool");
  cfg.add_message_type<std::vector<tool>>("std::vector<caf_mcp::tool>");
  cfg.add_message_type<content_block>("caf_mcp::content_block");
  cfg.add_message_type<call_tool_result>("caf_mcp::call_tool_result");
  cfg.add_message_type<progress_params>("caf_mcp::progress_params");
  cfg.add_message_type<logging_message_params>(
    "caf_mcp::logging_message_params");
  cfg.add_message_type<call_options>("caf_mcp::call_options");
  cfg.add_message_type<tool_proxy_actor>("caf_mcp::tool_proxy_actor");
  cfg.add_message_type<tool_handle>("caf_mcp::tool_handle");
  cfg.add_message_type<std::vector<tool_handle>>(
    "std::vector<caf_mcp::tool_handle>");
  cfg.add_message_type<session_actor>("caf_mcp::session_actor");
  cfg.add_message_type<client_actor>("caf_mcp::client_actor");
}

} // namespace caf_mcp
